/* topupd's HTTP server: the JSON API, /healthz and /metrics on libmicrohttpd. */
#ifndef TOPUP_SERVER_H
#define TOPUP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/result.h"
#include "partners/settings.h"
#include "payments/settings.h"
#include "service/counter_desk.h"
#include "service/portal.h"
#include "sms/transport.h"

#define LISTEN_HOST_SIZE 64

typedef struct server_config {
    const char *db_path;
    char listen_host[LISTEN_HOST_SIZE]; /* numeric IPv4 or IPv6 address */
    uint16_t port;                      /* 0 picks a free port (see server_port) */
    char default_country[3];            /* country of numbers typed without a calling code */
    unsigned thread_count;              /* HTTP worker threads */
    size_t queue_size_max;              /* bounded write queue: 503 beyond it */
    size_t batch_size_max;              /* largest group commit */
    payment_settings payments;          /* providers and timing of paid orders */
    sms_settings sms;                   /* SMS to subscribers; off when sms.transport is "" */
    partners_settings partners;         /* callbacks, connector status queries, circuit breaker */
    portal_settings portal;             /* the web portal's key and cookies */
    counter_settings counter;           /* the counter's ID-hash key and its limits */
} server_config;

typedef struct server server;

/* Sets the defaults: 127.0.0.1:8080, CN, 2 threads, queue 8192, batch 1024. */
void server_config_defaults(server_config *config);

/* Starts the writer, the catalog watcher and the HTTP threads; returns once it listens. */
topup_result server_start(const server_config *config, server **out /* OUT */);

/* The port actually bound. */
uint16_t server_port(const server *srv);

/* Stops accepting, answers what is queued, and frees everything. */
void server_stop(server *srv);

#endif
