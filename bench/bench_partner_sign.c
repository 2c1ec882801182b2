/* Writes pre-signed partner orders for row (e) of bench/run.sh. wrk's Lua has no HMAC, so the
 * requests are signed here, before the run, with the real signing code (src/partners/), and
 * bench/partner.lua sends them: one line per request,
 *
 *     TIMESTAMP NONCE SIGNATURE BODY
 *
 * each with its own nonce and merchant_order_id, for CNY 50 recharges of numbers across the DEMO
 * catalog's ranges. The timestamps are now, so the file is good for 300 s. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "partners/signature.h"

static const char *const prefixes[] = {"1380013", "1390013", "1500013", "1860013", "1330013"};

static const char usage[] = "usage: bench_partner_sign --secret-file FILE --count N --run ID\n";

static int read_secret(const char *path, char *secret, size_t size)
{
    FILE *file = fopen(path, "r");
    if (!file || !fgets(secret, (int)size, file)) {
        if (file)
            fclose(file);
        return -1;
    }
    fclose(file);
    secret[strcspn(secret, "\r\n")] = '\0';
    return secret[0] ? 0 : -1;
}

/* One signed request on its own line. */
static int write_one(const char *secret, const char *run, long index, int64_t now)
{
    char body[160], nonce[PARTNER_NONCE_SIZE_MAX + 1], signature[PARTNER_SIGNATURE_HEX_SIZE];
    snprintf(body, sizeof body,
             "{\"merchant_order_id\":\"%s-%ld\",\"msisdn\":\"%s%04ld\",\"amount_minor\":5000,"
             "\"currency\":\"CNY\"}",
             run, index, prefixes[index % 5], (index / 5) % 10000);
    snprintf(nonce, sizeof nonce, "bench-%s-%08ld", run, index); /* 8-64 characters */
    char *text = NULL;
    if (partner_signing_text("POST", "/v1/partner/orders", now, nonce, body, strlen(body), &text) !=
            TOPUP_OK ||
        partner_sign(secret, text, signature) != TOPUP_OK) {
        free(text);
        return -1;
    }
    free(text);
    return printf("%" PRId64 " %s %s %s\n", now, nonce, signature, body) < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
    const char *secret_file = NULL, *run = NULL;
    long count = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--secret-file") == 0)
            secret_file = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0)
            count = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--run") == 0)
            run = argv[i + 1];
    }
    char secret[128]; /* merchant secrets are 64 hex characters */
    if (!secret_file || !run || count <= 0 || strspn(run, "0123456789") != strlen(run) ||
        read_secret(secret_file, secret, sizeof secret) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    int64_t now = (int64_t)time(NULL);
    for (long i = 0; i < count; i++)
        if (write_one(secret, run, i, now) != 0) {
            fprintf(stderr, "bench_partner_sign: could not sign or write request %ld\n", i);
            return 1;
        }
    return fflush(stdout) == 0 ? 0 : 1;
}
