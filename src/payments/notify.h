/* What every payment provider module answers about an asynchronous notification: is it genuine,
 * and what does it say. Verification comes first and alone decides "genuine"; nothing of an
 * unverified notification may be acted on. */
#ifndef TOPUP_NOTIFY_H
#define TOPUP_NOTIFY_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/result.h"

#define NOTIFY_REASON_SIZE   256
#define NOTIFY_BODY_SIZE_MAX (64 * 1024) /* larger notifications are refused unread */

typedef struct notify_result {
    bool genuine;                    /* the signature (and, where there is one, the time) holds */
    char reason[NOTIFY_REASON_SIZE]; /* why it is not genuine, one sentence; "" when genuine */
    json_t *fields;                  /* what it says (owned; json_decref it), NULL when unread */
} notify_result;

/* One HTTP header of a raw notification, as received. */
typedef struct notify_header {
    const char *name; /* case as received; compared case-insensitively */
    const char *value;
} notify_header;

/* Loads a PEM public key, or the public key of a PEM X.509 certificate, from path. The caller
 * frees it with EVP_PKEY_free. TOPUP_E_IO when the file cannot be read, TOPUP_E_INVALID_ARGUMENT
 * when it holds neither. */
topup_result notify_load_public_key(const char *path, EVP_PKEY **key /* OUT */);

/* Loads a PEM private key from path, refusing a file readable by group or others (mode & 077)
 * with TOPUP_E_INVALID_ARGUMENT: payment keys must not be world-readable. */
topup_result notify_load_private_key(const char *path, EVP_PKEY **key /* OUT */);

/* Reads a whole small secret file (webhook secret, APIv3 key) without its trailing newline into
 * secret, refusing group/other-readable files like notify_load_private_key. */
topup_result notify_load_secret(const char *path, char *secret /* OUT */, size_t secret_size);

/* Finds a header by name, case-insensitively; NULL when absent. */
const char *notify_header_get(const notify_header *headers, size_t header_count, const char *name);

/* Fills result as refused with a formatted reason. */
void notify_refuse(notify_result *result, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

#endif
