/* The route table and its handlers: every path of the API in one place. Handlers validate every
 * field they read and answer with problem+json naming what was wrong. */
#include "http/http_int.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/decimal.h"
#include "core/problem.h"
#include "service/numbers.h"
#include "service/recharge.h"

#define PAGE_SIZE_DEFAULT 50
#define PAGE_SIZE_MAX     200

extern const char topup_openapi_json[];
extern const size_t topup_openapi_json_size;

/* ---- small helpers ---- */

void http_answer_result(request *rq, topup_result result, const char *detail)
{
    answer_problem(rq, result, topup_result_http_status(result), NULL, detail);
}

void http_bad_request(request *rq, const char *code, const char *detail)
{
    answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 400, code, detail);
}

static const char *query(request *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->connection, MHD_GET_ARGUMENT_KIND, name);
}

/* Parses a positive decimal id of at most 18 digits (ids and cursors). */
bool http_parse_id(const char *text, int64_t *id)
{
    return decimal_parse(text, 1, INT64_MAX, id);
}

/* Reads ?cursor= and ?limit=; answers 400 and returns false when either is malformed. */
static bool page_arguments(request *rq, int64_t *before_id, size_t *limit)
{
    const char *cursor = query(rq, "cursor");
    const char *limit_text = query(rq, "limit");
    *before_id = 0;
    *limit = PAGE_SIZE_DEFAULT;
    if (cursor && *cursor && !http_parse_id(cursor, before_id)) {
        http_bad_request(rq, "invalid_cursor",
                         "The cursor must be a next_cursor value we returned.");
        return false;
    }
    int64_t wanted;
    if (limit_text && (!http_parse_id(limit_text, &wanted) || wanted > PAGE_SIZE_MAX)) {
        http_bad_request(rq, "invalid_limit", "The limit must be a whole number from 1 to 200.");
        return false;
    }
    if (limit_text)
        *limit = (size_t)wanted;
    return true;
}

static json_t *time_or_null(int64_t unix_seconds)
{
    if (!unix_seconds)
        return json_null();
    char text[RFC3339_SIZE];
    clock_format_rfc3339(unix_seconds, text);
    return json_string(text);
}

static json_t *order_value(const order_row *order)
{
    char buffer[RECHARGE_RESPONSE_SIZE];
    if (recharge_order_json(order, buffer, sizeof buffer) < 0)
        return NULL;
    return json_loads(buffer, 0, NULL);
}

/* A query-string '+' arrives as a space (form encoding); a number that starts with one was an
 * international "+CC..." number typed without %2B. */
static void restore_plus(char *msisdn)
{
    if (msisdn[0] == ' ' && msisdn[1] >= '0' && msisdn[1] <= '9')
        msisdn[0] = '+';
}

/* ---- health and metrics ---- */

static void get_healthz(request *rq)
{
    store *reader = server_reader(rq->srv);
    int64_t version;
    if (!reader || store_catalog_version(reader, &version) != TOPUP_OK) {
        answer_problem(rq, TOPUP_E_STORAGE, 503, NULL, "The database cannot be read.");
        return;
    }
    static const char ok[] = "{\"status\":\"ok\"}";
    answer_json(rq, 200, ok, sizeof ok - 1);
}

/* The outbox's state for /metrics; false when it cannot be read (the SMS lines are left out). */
static bool sms_counts(request *rq, sms_metrics *sms)
{
    static const char *const statuses[] = {"queued", "sending", "dead"};
    int64_t counts[3];
    store *reader = server_reader(rq->srv);
    if (!reader || store_outbox_counts(reader, statuses, 3, counts) != TOPUP_OK)
        return false;
    dispatcher_get_stats(rq->srv->dispatcher, &sms->dispatcher);
    sms->queued = counts[0];
    sms->sending = counts[1];
    sms->dead = counts[2];
    return true;
}

static void get_metrics(request *rq)
{
    size_t route_count;
    const route *table = routes_table(&route_count);
    const char *names[METRICS_ROUTES_MAX];
    for (size_t i = 0; i < route_count && i < METRICS_ROUTES_MAX; i++)
        names[i] = table[i].name;
    writer_stats stats;
    writer_get_stats(rq->srv->writer, &stats);
    sms_metrics sms;
    bool with_sms = rq->srv->dispatcher && sms_counts(rq, &sms);
    char *text =
        metrics_render(&rq->srv->metrics, names, route_count, &stats, with_sms ? &sms : NULL);
    if (!text) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        return;
    }
    answer_json(rq, 200, text, strlen(text));
    rq->content_type = "text/plain; version=0.0.4";
    free(text);
}

static void get_openapi(request *rq)
{
    answer_json(rq, 200, topup_openapi_json, topup_openapi_json_size);
}

/* ---- POST /v1/recharges ---- */

bool http_is_json(const char *value)
{
    if (!value)
        return false;
    size_t length = strlen("application/json");
    return strncasecmp(value, "application/json", length) == 0 &&
           (value[length] == '\0' || value[length] == ';' || value[length] == ' ');
}

/* Checks the Idempotency-Key header: 1-64 printable ASCII characters without spaces. */
bool http_idempotency_key(request *rq, char key[IDEMPOTENCY_KEY_SIZE])
{
    const char *value =
        MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Idempotency-Key");
    if (!value || !*value) {
        http_bad_request(rq, "idempotency_key_missing",
                         "Every POST needs an Idempotency-Key header of 1 to 64 characters.");
        return false;
    }
    size_t length = strlen(value);
    bool printable = length < IDEMPOTENCY_KEY_SIZE;
    for (size_t i = 0; printable && i < length; i++)
        printable = value[i] > 0x20 && value[i] < 0x7f;
    if (!printable) {
        http_bad_request(rq, "idempotency_key_invalid",
                         "The Idempotency-Key must be 1 to 64 printable ASCII characters.");
        return false;
    }
    memcpy(key, value, length + 1);
    return true;
}

/* Parses the body as one JSON object; answers 400 with the position of the error otherwise. */
json_t *http_parse_object(request *rq)
{
    json_error_t error;
    json_t *root =
        json_loadb(rq->body ? rq->body : "", rq->body_size, JSON_REJECT_DUPLICATES, &error);
    if (!root) {
        char detail[256];
        snprintf(detail, sizeof detail,
                 "The body is not valid JSON: %s (line %d, column %d, "
                 "byte %d).",
                 error.text, error.line, error.column, error.position);
        http_bad_request(rq, "malformed_json", detail);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        http_bad_request(rq, "malformed_json", "The body must be a JSON object.");
        return NULL;
    }
    return root;
}

static bool only_fields(request *rq, json_t *object, const char *const *allowed)
{
    const char *name;
    json_t *value;
    json_object_foreach(object, name, value)
    {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(name, allowed[i]) == 0;
        if (!known) {
            char detail[160];
            char escaped[64];
            json_escape(name, escaped, sizeof escaped);
            snprintf(detail, sizeof detail, "The field '%s' is not part of this request.", escaped);
            http_bad_request(rq, "unknown_field", detail);
            return false;
        }
    }
    return true;
}

/* The typed fields of a recharge request, checked for presence and type. */
typedef struct recharge_fields {
    const char *msisdn;
    const char *product;  /* NULL when not given */
    int64_t amount_minor; /* 0 when not given */
    bool has_amount;
    const char *currency; /* NULL when not given */
} recharge_fields;

static bool field_error(request *rq, const char *code, const char *detail)
{
    http_bad_request(rq, code, detail);
    return false;
}

static bool read_fields(request *rq, json_t *body, const char *const *allowed,
                        recharge_fields *fields)
{
    if (!only_fields(rq, body, allowed))
        return false;
    json_t *msisdn = json_object_get(body, "msisdn");
    json_t *product = json_object_get(body, "product");
    json_t *amount = json_object_get(body, "amount_minor");
    json_t *currency = json_object_get(body, "currency");
    memset(fields, 0, sizeof *fields);
    if (!msisdn)
        return field_error(rq, "missing_field", "The field 'msisdn' is required.");
    if (!json_is_string(msisdn))
        return field_error(rq, "invalid_field", "The field 'msisdn' must be a string.");
    fields->msisdn = json_string_value(msisdn);
    if (product && !json_is_string(product))
        return field_error(rq, "invalid_field", "The field 'product' must be a string.");
    if (amount && !json_is_integer(amount))
        return field_error(rq, "invalid_field",
                           "The field 'amount_minor' must be an integer count of minor units.");
    if (currency && !json_is_string(currency))
        return field_error(rq, "invalid_field", "The field 'currency' must be a string.");
    if (!product && !amount)
        return field_error(rq, "missing_field",
                           "Give either 'product' or 'amount_minor' with 'currency'.");
    /* With a product the currency is the operator's; an amount alone needs its currency. */
    if (amount && !currency && !product)
        return field_error(rq, "missing_field", "The field 'currency' goes with 'amount_minor'.");
    fields->product = product ? json_string_value(product) : NULL;
    fields->has_amount = amount != NULL;
    fields->amount_minor = amount ? (int64_t)json_integer_value(amount) : 0;
    fields->currency = currency ? json_string_value(currency) : NULL;
    return true;
}

/* Checks an amount given with its currency; answers 422 with the distinct money error. */
static bool check_amount(request *rq, const recharge_fields *fields)
{
    topup_result r = TOPUP_OK;
    if (fields->currency && !currency_find(fields->currency))
        r = TOPUP_E_CURRENCY_UNKNOWN;
    if (r == TOPUP_OK && fields->has_amount)
        r = money_check_positive(fields->amount_minor);
    if (r != TOPUP_OK)
        http_answer_result(rq, r, NULL);
    return r == TOPUP_OK;
}

static topup_result quote_fields(const catalog *cat, const operator_info *op,
                                 const recharge_fields *fields, product_quote *quote)
{
    if (fields->currency && strcmp(fields->currency, op->currency) != 0)
        return TOPUP_E_CURRENCY_MISMATCH;
    if (fields->product)
        return catalog_quote_product(cat, op, fields->product, fields->amount_minor, quote);
    return catalog_quote_amount(cat, op, fields->amount_minor, fields->currency, quote);
}

/* The request hash covers the canonical form of the body, so a retry that only reorders or
 * re-spaces the same fields is still recognised as the same request. */
static bool hash_request(const char *url, json_t *body, uint8_t hash[REQUEST_HASH_SIZE])
{
    char prefix[128];
    int prefix_length = snprintf(prefix, sizeof prefix, "POST %s\n", url);
    char *canonical = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    if (!canonical || prefix_length < 0 || (size_t)prefix_length >= sizeof prefix) {
        free(canonical);
        return false;
    }
    size_t length = strlen(canonical);
    char *hashed = malloc((size_t)prefix_length + length + 1);
    bool ok = hashed != NULL;
    if (ok) {
        memcpy(hashed, prefix, (size_t)prefix_length);
        memcpy(hashed + prefix_length, canonical, length);
        SHA256((const unsigned char *)hashed, (size_t)prefix_length + length, hash);
    }
    free(hashed);
    free(canonical);
    return ok;
}

/* Resolves number and product into the job's request; answers and returns false on refusal. */
static bool resolve(request *rq, const recharge_fields *fields, recharge_request *out)
{
    catalog *cat = server_catalog(rq->srv);
    store *reader = server_reader(rq->srv);
    number_info number;
    topup_result r = reader ? numbers_resolve(cat, reader, rq->srv->config.default_country,
                                              fields->msisdn, &number)
                            : TOPUP_E_STORAGE;
    product_quote quote;
    if (r == TOPUP_OK)
        r = quote_fields(cat, number.op, fields, &quote);
    if (r == TOPUP_OK)
        recharge_request_set_quote(out, number.e164, number.op, &quote);
    catalog_unref(cat);
    if (r != TOPUP_OK)
        http_answer_result(rq, r, NULL);
    return r == TOPUP_OK;
}

/* A retry of a request whose answer is stored gets that answer before anything is resolved
 * again: the number may have been ported or the product withdrawn since, and a retry of a
 * recharge that went through must never turn into a refusal (the client would then pay again
 * under a new key). The writer checks the key once more, for a first request still in flight. */
static bool answered_from_replay(request *rq)
{
    store *reader = server_reader(rq->srv);
    recharge_response *response = &rq->job.response;
    if (!reader || !recharge_replay(reader, &rq->job.request, response))
        return false;
    if (response->replayed)
        atomic_fetch_add_explicit(&rq->srv->metrics.recharges_replayed, 1, memory_order_relaxed);
    answer_json(rq, response->http_status, response->body, strlen(response->body));
    if (response->http_status >= 400)
        rq->content_type = "application/problem+json";
    rq->replayed = response->replayed;
    return true;
}

/* A credit queues the subscriber's SMS when SMS is configured. */
static void set_sms_lang(request *rq, recharge_request *out)
{
    const sms_settings *sms = &rq->srv->config.sms;
    snprintf(out->sms_lang, sizeof out->sms_lang, "%s", sms->transport[0] ? sms->lang : "");
}

bool http_read_recharge(request *rq, json_t *body, const char *const *allowed,
                        recharge_request *out)
{
    recharge_fields fields;
    bool ok = read_fields(rq, body, allowed, &fields);
    if (ok && !hash_request(rq->url, body, out->request_hash)) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        ok = false;
    }
    out->api_key_id = rq->key.id;
    set_sms_lang(rq, out);
    return ok && check_amount(rq, &fields) && resolve(rq, &fields, out);
}

static void post_recharge(request *rq)
{
    static const char *const allowed[] = {"msisdn", "product", "amount_minor", "currency", NULL};
    const char *type = MHD_lookup_connection_value(rq->connection, MHD_HEADER_KIND, "Content-Type");
    if (!http_is_json(type)) {
        answer_problem(rq, TOPUP_E_INVALID_ARGUMENT, 415, "unsupported_media_type",
                       "Send the body as Content-Type: application/json.");
        return;
    }
    recharge_request *out = &rq->job.request;
    if (!http_idempotency_key(rq, out->idempotency_key))
        return;
    json_t *body = http_parse_object(rq);
    if (!body)
        return;
    recharge_fields fields;
    bool ok = read_fields(rq, body, allowed, &fields);
    if (ok && !hash_request(rq->url, body, out->request_hash)) {
        http_answer_result(rq, TOPUP_E_NOMEM, NULL);
        ok = false;
    }
    out->api_key_id = rq->key.id;
    ok = ok && !answered_from_replay(rq) && check_amount(rq, &fields) && resolve(rq, &fields, out);
    json_decref(body);
    if (!ok)
        return;
    snprintf(out->channel, sizeof out->channel, "api");
    memcpy(out->funding_account, rq->key.funding_account, sizeof out->funding_account);
    set_sms_lang(rq, out);
    server_submit_write(rq);
}

/* ---- recharges ---- */

static json_t *events_value(store *reader, int64_t order_id)
{
    order_event_row events[16];
    size_t count;
    if (store_order_events(reader, order_id, events, 16, &count) != TOPUP_OK)
        return NULL;
    json_t *list = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:s,s:o}", "from", order_status_name(events[i].from), "to",
                            order_status_name(events[i].to), "reason", events[i].reason, "at",
                            time_or_null(events[i].created_at)));
    return list;
}

static void get_recharge(request *rq)
{
    int64_t id;
    order_row order;
    store *reader = server_reader(rq->srv);
    topup_result r = !http_parse_id(rq->param, &id) ? TOPUP_E_NOT_FOUND
                     : reader                       ? store_order_get(reader, id, &order)
                                                    : TOPUP_E_STORAGE;
    if (r != TOPUP_OK) {
        http_answer_result(rq, r,
                           r == TOPUP_E_NOT_FOUND ? "There is no recharge with this id." : NULL);
        return;
    }
    json_t *value = order_value(&order);
    json_t *events = events_value(reader, id);
    if (!value || !events) {
        json_decref(value);
        json_decref(events);
        http_answer_result(rq, TOPUP_E_STORAGE, NULL);
        return;
    }
    json_object_set_new(value, "events", events);
    answer_json_value(rq, 200, value);
}

/* Normalises a number given by a client (path or query) with the catalog's plans. */
static bool normalise(request *rq, const char *input, char e164[E164_SIZE])
{
    catalog *cat = server_catalog(rq->srv);
    size_t plan_count;
    const number_plan *plans = catalog_plans(cat, &plan_count);
    topup_result r =
        msisdn_normalize(input, plans, plan_count, rq->srv->config.default_country, e164, NULL);
    catalog_unref(cat);
    if (r != TOPUP_OK)
        http_answer_result(rq, r, NULL);
    return r == TOPUP_OK;
}

static json_t *page(json_t *items, bool more, int64_t last_id)
{
    char cursor[24];
    snprintf(cursor, sizeof cursor, "%lld", (long long)last_id);
    return json_pack("{s:o,s:o}", "items", items, "next_cursor",
                     more ? json_string(cursor) : json_null());
}

typedef json_t *(*page_value_fn)(const void *row);
typedef int64_t (*page_id_fn)(const void *row);

/* Answers one page of rows that were fetched with limit + 1: the extra row, when it came, only
 * says that there is more, and the cursor is the id of the last row shown. Frees rows. */
static void answer_page(request *rq, topup_result r, void *rows, size_t count, size_t limit,
                        size_t row_size, page_value_fn value, page_id_fn id)
{
    if (r != TOPUP_OK) {
        free(rows);
        http_answer_result(rq, r, NULL);
        return;
    }
    bool more = count > limit;
    if (more)
        count = limit;
    const char *bytes = rows;
    json_t *items = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(items, value(bytes + i * row_size));
    answer_json_value(rq, 200, page(items, more, count ? id(bytes + (count - 1) * row_size) : 0));
    free(rows);
}

static json_t *order_page_value(const void *row)
{
    return order_value(row);
}

static int64_t order_page_id(const void *row)
{
    return ((const order_row *)row)->id;
}

static void list_recharges(request *rq)
{
    int64_t before_id;
    size_t limit;
    if (!page_arguments(rq, &before_id, &limit))
        return;
    const char *msisdn_query = query(rq, "msisdn");
    char e164[E164_SIZE];
    if (msisdn_query && *msisdn_query) {
        /* Longer than any number we accept: refused, never cut down to one that fits. */
        if (strlen(msisdn_query) > MSISDN_INPUT_MAX) {
            http_answer_result(rq, TOPUP_E_INVALID_NUMBER, NULL);
            return;
        }
        char input[MSISDN_INPUT_MAX + 1];
        snprintf(input, sizeof input, "%s", msisdn_query);
        restore_plus(input);
        if (!normalise(rq, input, e164))
            return;
    }
    store *reader = server_reader(rq->srv);
    order_row *orders = malloc((limit + 1) * sizeof *orders);
    size_t count = 0;
    topup_result r = !orders ? TOPUP_E_NOMEM
                     : reader
                         ? store_orders_list(reader, msisdn_query && *msisdn_query ? e164 : NULL,
                                             before_id, orders, limit + 1, &count)
                         : TOPUP_E_STORAGE;
    answer_page(rq, r, orders, count, limit, sizeof *orders, order_page_value, order_page_id);
}

/* ---- subscribers ---- */

static bool load_subscriber(request *rq, subscriber_row *sub)
{
    char e164[E164_SIZE];
    if (!normalise(rq, rq->param, e164))
        return false;
    store *reader = server_reader(rq->srv);
    topup_result r = reader ? store_subscriber_get(reader, e164, sub) : TOPUP_E_STORAGE;
    if (r == TOPUP_E_NOT_FOUND)
        r = TOPUP_E_SUBSCRIBER_UNKNOWN;
    if (r != TOPUP_OK)
        http_answer_result(rq, r, NULL);
    return r == TOPUP_OK;
}

static void get_subscriber(request *rq)
{
    subscriber_row sub;
    if (!load_subscriber(rq, &sub))
        return;
    answer_json_value(rq, 200,
                      json_pack("{s:s,s:s,s:s,s:I,s:s,s:o,s:o}", "msisdn", sub.msisdn, "operator",
                                sub.operator_id, "status", sub.status, "balance_minor",
                                (json_int_t)sub.balance_minor, "currency", sub.currency,
                                "valid_until", time_or_null(sub.valid_until), "created_at",
                                time_or_null(sub.created_at)));
}

static json_t *statement_value(const statement_row *row)
{
    char id[24], order_id[24];
    snprintf(id, sizeof id, "%lld", (long long)row->transfer_id);
    snprintf(order_id, sizeof order_id, "%lld", (long long)row->order_id);
    return json_pack("{s:s,s:o,s:s,s:s,s:I,s:s,s:o}", "id", id, "order_id",
                     row->order_id ? json_string(order_id) : json_null(), "kind", row->kind,
                     "direction", row->credit ? "credit" : "debit", "amount_minor",
                     (json_int_t)row->amount_minor, "currency", row->currency, "at",
                     time_or_null(row->created_at));
}

static json_t *statement_page_value(const void *row)
{
    return statement_value(row);
}

static int64_t statement_page_id(const void *row)
{
    return ((const statement_row *)row)->transfer_id;
}

static void get_transactions(request *rq)
{
    int64_t before_id;
    size_t limit;
    subscriber_row sub;
    if (!page_arguments(rq, &before_id, &limit) || !load_subscriber(rq, &sub))
        return;
    store *reader = server_reader(rq->srv);
    statement_row *rows = malloc((limit + 1) * sizeof *rows);
    size_t count = 0;
    topup_result r =
        !rows    ? TOPUP_E_NOMEM
        : reader ? store_statement(reader, sub.account_id, before_id, rows, limit + 1, &count)
                 : TOPUP_E_STORAGE;
    answer_page(rq, r, rows, count, limit, sizeof *rows, statement_page_value, statement_page_id);
}

/* ---- numbers and operators ---- */

static void get_number(request *rq)
{
    catalog *cat = server_catalog(rq->srv);
    store *reader = server_reader(rq->srv);
    number_info number;
    topup_result r =
        reader ? numbers_resolve(cat, reader, rq->srv->config.default_country, rq->param, &number)
               : TOPUP_E_STORAGE;
    if (r == TOPUP_OK)
        answer_json_value(rq, 200,
                          json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s},s:b}", "msisdn", number.e164,
                                    "national", number.national, "masked", number.masked, "country",
                                    number.plan->country, "operator", "id", number.op->id, "name",
                                    number.op->name, "ported", number.ported));
    else
        http_answer_result(rq, r, NULL);
    catalog_unref(cat);
}

static json_t *operator_value(const operator_info *op)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", op->id, "name", op->name, "country",
                     op->country, "currency", op->currency, "connector", op->connector);
}

/* Availability is what partners plan by: an http operator whose circuit is open takes no
 * orders until a probe gets through. */
json_t *http_operators_value(request *rq)
{
    catalog *cat = server_catalog(rq->srv);
    size_t count;
    const operator_info *ops = catalog_operators(cat, &count);
    json_t *items = json_array();
    int64_t now = clock_now_seconds();
    for (size_t i = 0; i < count; i++) {
        json_t *value = operator_value(&ops[i]);
        breaker_state state = strcmp(ops[i].connector, "hosted") == 0
                                  ? BREAKER_CLOSED
                                  : breaker_peek(rq->srv->breakers, ops[i].id, now);
        json_object_set_new(value, "available", json_boolean(state != BREAKER_OPEN));
        json_object_set_new(value, "circuit", json_string(breaker_state_name(state)));
        json_array_append_new(items, value);
    }
    catalog_unref(cat);
    return json_pack("{s:o}", "items", items);
}

static void get_operators(request *rq)
{
    answer_json_value(rq, 200, http_operators_value(rq));
}

static json_t *product_value(const product_info *p, const char *currency)
{
    if (p->kind == PRODUCT_FIXED)
        return json_pack("{s:s,s:s,s:I,s:I,s:s,s:i}", "id", p->id, "kind", "fixed",
                         "face_value_minor", (json_int_t)p->face_minor, "price_minor",
                         (json_int_t)p->price_minor, "currency", currency, "validity_days",
                         p->validity_days);
    return json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:i}", "id", p->id, "kind", "range", "min_minor",
                     (json_int_t)p->min_minor, "max_minor", (json_int_t)p->max_minor, "step_minor",
                     (json_int_t)p->step_minor, "price_basis_points",
                     (json_int_t)p->price_basis_points, "currency", currency, "validity_days",
                     p->validity_days);
}

json_t *http_products_value(const catalog *cat, const operator_info *op)
{
    size_t count;
    const product_info *products = catalog_products(cat, op->id, &count);
    json_t *items = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append_new(items, product_value(&products[i], op->currency));
    return items;
}

static void get_products(request *rq)
{
    catalog *cat = server_catalog(rq->srv);
    const operator_info *op = catalog_operator(cat, rq->param);
    if (!op) {
        catalog_unref(cat);
        http_answer_result(rq, TOPUP_E_NOT_FOUND, "There is no operator with this id.");
        return;
    }
    json_t *items = http_products_value(cat, op);
    catalog_unref(cat);
    answer_json_value(rq, 200, json_pack("{s:o}", "items", items));
}

/* ---- the table ---- */

static const route routes[] = {
    {"POST", "/v1/recharges", post_recharge, SCOPE_RECHARGE, "recharge_create"},
    {"GET", "/v1/recharges", list_recharges, SCOPE_READ, "recharge_list"},
    {"GET", "/v1/recharges/{}", get_recharge, SCOPE_READ, "recharge_get"},
    {"GET", "/v1/subscribers/{}", get_subscriber, SCOPE_READ, "subscriber_get"},
    {"GET", "/v1/subscribers/{}/transactions", get_transactions, SCOPE_READ,
     "subscriber_transactions"},
    {"GET", "/v1/numbers/{}", get_number, SCOPE_READ, "number_get"},
    {"GET", "/v1/operators", get_operators, SCOPE_READ, "operator_list"},
    {"POST", "/v1/partner/orders", http_post_partner_order, SCOPE_PARTNER, "partner_order_create"},
    {"GET", "/v1/partner/orders/{}", http_get_partner_order, SCOPE_PARTNER, "partner_order_get"},
    {"GET", "/v1/partner/balance", http_get_partner_balance, SCOPE_PARTNER, "partner_balance"},
    {"GET", "/v1/partner/statements", http_get_partner_statement, SCOPE_PARTNER,
     "partner_statement"},
    {"GET", "/v1/partner/operators", http_get_partner_operators, SCOPE_PARTNER,
     "partner_operators"},
    {"GET", "/v1/operators/{}/products", get_products, SCOPE_READ, "product_list"},
    {"POST", "/v1/payment-orders", http_post_payment_order, SCOPE_RECHARGE, "payment_order_create"},
    {"GET", "/v1/payment-orders/{}", http_get_payment_order, SCOPE_READ, "payment_order_get"},
    {"POST", "/v1/payments/{}/notify", http_post_notification, SCOPE_NONE, "payment_notify"},
    {"POST", "/v1/otp", http_post_otp, SCOPE_RECHARGE, "otp_send"},
    {"POST", "/v1/otp/verify", http_post_otp_verify, SCOPE_RECHARGE, "otp_verify"},
    {"GET", "/sandbox/pay/{}", http_get_sandbox_page, SCOPE_NONE, "sandbox_page"},
    {"POST", "/sandbox/pay/{}", http_post_sandbox_page, SCOPE_NONE, "sandbox_pay"},
    {"GET", "/v1/openapi.json", get_openapi, SCOPE_NONE, "openapi"},
    {"GET", "/portal/api/session", http_portal_session, SCOPE_PORTAL, "portal_session"},
    {"POST", "/portal/api/otp", http_portal_otp, SCOPE_PORTAL, "portal_otp"},
    {"POST", "/portal/api/register", http_portal_register, SCOPE_PORTAL, "portal_register"},
    {"POST", "/portal/api/login", http_portal_login, SCOPE_PORTAL, "portal_login"},
    {"POST", "/portal/api/logout", http_portal_logout, SCOPE_PORTAL, "portal_logout"},
    {"POST", "/portal/api/reset", http_portal_reset, SCOPE_PORTAL, "portal_reset"},
    {"GET", "/portal/api/numbers/{}", http_portal_number, SCOPE_PORTAL, "portal_number"},
    {"POST", "/portal/api/orders", http_portal_order_create, SCOPE_PORTAL, "portal_order_create"},
    {"GET", "/portal/api/orders/{}", http_portal_order_get, SCOPE_PORTAL, "portal_order_get"},
    {"GET", "/portal/api/account", http_portal_account, SCOPE_PORTAL, "portal_account"},
    {"POST", "/portal/api/numbers", http_portal_number_save, SCOPE_PORTAL, "portal_number_save"},
    {"DELETE", "/portal/api/numbers/{}", http_portal_number_remove, SCOPE_PORTAL,
     "portal_number_remove"},
    {"GET", "/portal/api/check/{}/{}", http_portal_check, SCOPE_PORTAL, "portal_check"},
    {"GET", "/portal/receipts/{}", http_portal_receipt, SCOPE_PORTAL, "portal_receipt"},
    {"GET", "/counter/api/session", http_counter_session, SCOPE_COUNTER, "counter_session"},
    {"POST", "/counter/api/login", http_counter_login, SCOPE_COUNTER, "counter_login"},
    {"POST", "/counter/api/logout", http_counter_logout, SCOPE_COUNTER, "counter_logout"},
    {"POST", "/counter/api/shift/open", http_counter_shift_open, SCOPE_COUNTER,
     "counter_shift_open"},
    {"POST", "/counter/api/shift/close", http_counter_shift_close, SCOPE_COUNTER,
     "counter_shift_close"},
    {"GET", "/counter/api/shifts/{}", http_counter_shift_report, SCOPE_COUNTER,
     "counter_shift_report"},
    {"GET", "/counter/api/numbers/{}", http_counter_number, SCOPE_COUNTER, "counter_number"},
    {"POST", "/counter/api/check", http_counter_check, SCOPE_COUNTER, "counter_check"},
    {"POST", "/counter/api/recharges", http_counter_recharge, SCOPE_COUNTER, "counter_recharge"},
    {"GET", "/counter/api/orders/{}", http_counter_order, SCOPE_COUNTER, "counter_order"},
    {"POST", "/counter/api/receipts/{}", http_counter_receipt, SCOPE_COUNTER, "counter_receipt"},
    {"POST", "/counter/api/reversals", http_counter_reverse, SCOPE_COUNTER, "counter_reverse"},
    {"GET", "/counter/assets/{}", http_counter_asset, SCOPE_NONE, "counter_asset"},
    {"GET", "/counter", http_counter_page, SCOPE_NONE, "counter_page"},
    {"GET", "/counter/shift", http_counter_page, SCOPE_NONE, "counter_page"},
    {"GET", "/counter/recharge", http_counter_page, SCOPE_NONE, "counter_page"},
    {"GET", "/assets/{}", http_portal_asset, SCOPE_NONE, "portal_asset"},
    {"GET", "/", http_portal_page, SCOPE_PORTAL, "portal_page"},
    {"GET", "/login", http_portal_page, SCOPE_PORTAL, "portal_page"},
    {"GET", "/register", http_portal_page, SCOPE_PORTAL, "portal_page"},
    {"GET", "/reset", http_portal_page, SCOPE_PORTAL, "portal_page"},
    {"GET", "/account", http_portal_page, SCOPE_PORTAL, "portal_page"},
    {"GET", "/order/{}", http_portal_page, SCOPE_PORTAL, "portal_page"},
    {"GET", "/r/{}/{}", http_portal_page, SCOPE_PORTAL, "portal_page"},
    {"GET", "/healthz", get_healthz, SCOPE_NONE, "healthz"},
    {"GET", "/metrics", get_metrics, SCOPE_NONE, "metrics"},
};

_Static_assert(sizeof routes / sizeof routes[0] <= METRICS_ROUTES_MAX,
               "metrics keep per-route counters for at most METRICS_ROUTES_MAX routes");

const route *routes_table(size_t *count)
{
    *count = sizeof routes / sizeof routes[0];
    return routes;
}
