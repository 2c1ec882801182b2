/* topupd: the recharge daemon. Serves the JSON API, /healthz and /metrics, and runs the writer
 * that commits recharges in groups.
 *
 * Exposed to: every client that can reach --listen (keep it on loopback or behind a proxy that
 * terminates TLS). Trusts: its command line, its config file and the database file; nothing
 * that arrives over HTTP (see src/http/server.c). */
#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config_file.h"
#include "core/decimal.h"
#include "http/server.h"
#include "receipts/receipt.h"
#include "service/config_sections.h"

static const char usage[] =
    "usage: topupd [--db PATH] [--listen HOST:PORT] [--config FILE] [--threads N]\n"
    "              [--default-country CC] [--queue-max N] [--batch-max N]\n"
    "Serves the topup API. Defaults: --db var/topup.db --listen 127.0.0.1:8080.\n"
    "A config file holds 'key = value' lines with the same keys as the long options\n"
    "(db, listen, threads, default_country, queue_max, batch_max); options given on the\n"
    "command line win over the file. Payment providers are set up in the same file with\n"
    "'PROVIDER.key = value' lines (see docs/payments.md).\n";

/* Parses HOST:PORT or [IPv6]:PORT. */
static int parse_listen(const char *text, server_config *config)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -1;
    const char *host = text;
    size_t host_length = (size_t)(colon - text);
    if (host[0] == '[' && host_length >= 2 && host[host_length - 1] == ']') {
        host++;
        host_length -= 2;
    }
    if (host_length >= sizeof config->listen_host)
        return -1;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return -1;
    memcpy(config->listen_host, host, host_length);
    config->listen_host[host_length] = '\0';
    config->port = (uint16_t)port;
    return 0;
}

static int parse_count(const char *text, size_t low, size_t high, size_t *out)
{
    int64_t value;
    if (!decimal_parse(text, (int64_t)low, (int64_t)high, &value))
        return -1;
    *out = (size_t)value;
    return 0;
}

/* Applies one setting; the db path is copied into db_storage, which outlives the config. */
static int apply_setting(server_config *config, const char *key, const char *value,
                         char *db_storage, size_t db_storage_size)
{
    size_t count;
    if (strcmp(key, "db") == 0) {
        if (strlen(value) >= db_storage_size)
            return -1;
        strcpy(db_storage, value);
        config->db_path = db_storage;
        return 0;
    }
    if (strcmp(key, "listen") == 0)
        return parse_listen(value, config);
    if (strcmp(key, "default_country") == 0 || strcmp(key, "default-country") == 0) {
        if (strlen(value) != 2)
            return -1;
        memcpy(config->default_country, value, 3);
        return 0;
    }
    if (strcmp(key, "threads") == 0) {
        if (parse_count(value, 1, 64, &count))
            return -1;
        config->thread_count = (unsigned)count;
        return 0;
    }
    if (strcmp(key, "queue_max") == 0 || strcmp(key, "queue-max") == 0)
        return parse_count(value, 1, 65536, &config->queue_size_max);
    if (strcmp(key, "batch_max") == 0 || strcmp(key, "batch-max") == 0)
        return parse_count(value, 1, 4096, &config->batch_size_max);
    return -1;
}

typedef struct config_target {
    server_config *config;
    char *db_storage;
    size_t db_storage_size;
} config_target;

/* "section.key" settings are the payment providers' and SMS's; the others are the daemon's. */
static int apply_file_setting(void *context, const char *key, const char *value, char *error,
                              size_t error_size)
{
    config_target *target = context;
    config_sections sections = {&target->config->payments, &target->config->sms,
                                &target->config->partners, &target->config->portal,
                                &target->config->counter};
    int applied = config_sections_apply(&sections, key, value, error, error_size);
    if (applied != 0)
        return applied == 1 ? 0 : -1;
    return apply_setting(target->config, key, value, target->db_storage, target->db_storage_size);
}

static int read_config(const char *path, server_config *config, char *db_storage,
                       size_t db_storage_size)
{
    config_target target = {config, db_storage, db_storage_size};
    return config_file_read(path, apply_file_setting, &target);
}

static int parse_arguments(int argc, char **argv, server_config *config, char *db_storage,
                           size_t db_storage_size)
{
    static const struct option options[] = {{"db", required_argument, NULL, 'd'},
                                            {"listen", required_argument, NULL, 'l'},
                                            {"config", required_argument, NULL, 'c'},
                                            {"threads", required_argument, NULL, 't'},
                                            {"default-country", required_argument, NULL, 'C'},
                                            {"queue-max", required_argument, NULL, 'q'},
                                            {"batch-max", required_argument, NULL, 'b'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};
    /* The config file is read first so that command-line options override it. */
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--config") == 0 &&
            read_config(argv[i + 1], config, db_storage, db_storage_size))
            return 2;
    int option;
    while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
        const char *key = option == 'd'   ? "db"
                          : option == 'l' ? "listen"
                          : option == 't' ? "threads"
                          : option == 'C' ? "default_country"
                          : option == 'q' ? "queue_max"
                          : option == 'b' ? "batch_max"
                                          : NULL;
        if (option == 'h') {
            fputs(usage, stdout);
            return 1;
        }
        if (option == 'c')
            continue;
        if (!key || apply_setting(config, key, optarg, db_storage, db_storage_size)) {
            if (key)
                fprintf(stderr, "topupd: invalid value for %s: '%s'\n", key, optarg);
            fputs(usage, stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "topupd: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

static int wait_for_signal(void)
{
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    int received = 0;
    sigwait(&signals, &received);
    return received;
}

int main(int argc, char **argv)
{
    /* Block the stop signals before any thread starts, so every thread inherits the mask and
     * only sigwait in main receives them. A closed client socket must not kill the daemon. */
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    server_config config;
    server_config_defaults(&config);
    char db_storage[4096];
    int parsed = parse_arguments(argc, argv, &config, db_storage, sizeof db_storage);
    if (parsed)
        return parsed == 1 ? 0 : 2;

    server *srv;
    receipt_fonts_load();
    topup_result r = server_start(&config, &srv);
    if (r != TOPUP_OK) {
        fprintf(stderr, "topupd: cannot start on %s:%u with %s: %s (%s)\n", config.listen_host,
                config.port, config.db_path, topup_strerror(r), topup_result_code(r));
        return 1;
    }
    fprintf(stderr, "topupd: listening on %s:%u, database %s\n", config.listen_host,
            server_port(srv), config.db_path);
    int received = wait_for_signal();
    fprintf(stderr, "topupd: signal %d, stopping\n", received);
    server_stop(srv);
    return 0;
}
