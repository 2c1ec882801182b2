/* The catalog commands: `plan set`, `operator add|list`, `range add`, `product add|list` and
 * `portability set`. Each change is checked against the catalog read inside its own transaction,
 * so the check and the write see the same state. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/money.h"
#include "core/msisdn.h"
#include "partners/connector.h"
#include "payments/notify.h"

#define VALIDITY_DAYS_MAX      3650   /* ten years: anything longer is a typo */
#define PRICE_BASIS_POINTS_MAX 100000 /* 1000%: a surcharge beyond that is a typo */
#define E164_DIGITS_MAX        15

static bool all_digits(const char *text, size_t length_min, size_t length_max)
{
    size_t length = strlen(text);
    return length >= length_min && length <= length_max && strspn(text, "0123456789") == length;
}

/* Well-formed UTF-8 without control characters: display names end up in JSON and terminals. */
static bool display_text_valid(const char *text, size_t size)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t length = strlen(text);
    if (length == 0 || length >= size)
        return false;
    while (*p) {
        unsigned char c = *p;
        size_t extra = c < 0x80             ? 0
                       : (c & 0xE0) == 0xC0 ? 1
                       : (c & 0xF0) == 0xE0 ? 2
                       : (c & 0xF8) == 0xF0 ? 3
                                            : 4;
        if (extra == 4 || (c < 0x80 && (c < 0x20 || c == 0x7f)) || c == 0xC0 || c == 0xC1 ||
            c >= 0xF5)
            return false;
        for (size_t i = 1; i <= extra; i++)
            if ((p[i] & 0xC0) != 0x80)
                return false;
        p += 1 + extra;
    }
    return true;
}

/* Explains a money_parse refusal for an option in the currency it was read in. */
static int bad_amount(const cli_context *ctx, topup_result r, const char *name, const char *value,
                      const char *currency)
{
    char why[128];
    const currency_info *info = currency_find(currency);
    if (r == TOPUP_E_AMOUNT_FORMAT && info)
        snprintf(why, sizeof why,
                 "write a decimal in major units of %s with at most %d decimals, e.g. 50.00",
                 currency, info->exponent);
    else
        snprintf(why, sizeof why, "the amount is in %s", currency);
    return cli_bad_value(ctx, r, name, value, why);
}

/* ---- plan set ---- */

int cli_cmd_plan_set(cli_context *ctx, int argc, char **argv)
{
    enum { O_COUNTRY, O_CALLING, O_TRUNK, O_INTL, O_NSN_MIN, O_NSN_MAX, O_MOBILE, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"country", true},         {"calling-code", true},
        {"trunk-prefix", true},    {"international-prefix", true},
        {"nsn-min", true},         {"nsn-max", true},
        {"mobile-prefixes", true},
    };
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_COUNTRY], "country")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_CALLING], "calling-code")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_NSN_MIN], "nsn-min")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_NSN_MAX], "nsn-max")) != CLI_CONTINUE)
        return rc;

    number_plan plan = {0};
    const char *trunk = v[O_TRUNK] ? v[O_TRUNK] : "";
    const char *intl = v[O_INTL] ? v[O_INTL] : "00";
    const char *mobile = v[O_MOBILE] ? v[O_MOBILE] : "";
    if (!cli_country_valid(v[O_COUNTRY]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "country", v[O_COUNTRY],
                             "use the two upper-case letters of ISO 3166-1, e.g. CN");
    if (!all_digits(v[O_CALLING], 1, sizeof plan.calling_code - 1) || v[O_CALLING][0] == '0')
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "calling-code", v[O_CALLING],
                             "a country calling code is 1-3 digits not starting with 0, e.g. 86");
    if (!all_digits(trunk, 0, sizeof plan.trunk_prefix - 1))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "trunk-prefix", trunk,
                             "use 0-3 digits, e.g. 0");
    if (!all_digits(intl, 1, sizeof plan.international_prefix - 1))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "international-prefix", intl,
                             "use 1-7 digits, e.g. 00");
    int64_t nsn_min, nsn_max;
    int64_t nsn_limit = E164_DIGITS_MAX - (int64_t)strlen(v[O_CALLING]);
    if (!decimal_parse(v[O_NSN_MIN], 1, nsn_limit, &nsn_min))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "nsn-min", v[O_NSN_MIN],
                             "a length of 1 to 15 digits minus the calling code's");
    if (!decimal_parse(v[O_NSN_MAX], nsn_min, nsn_limit, &nsn_max))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "nsn-max", v[O_NSN_MAX],
                             "a length from --nsn-min to 15 digits minus the calling code's");
    /* A list of non-empty digit groups: "1" or "8,9". */
    bool mobile_ok = strlen(mobile) < sizeof plan.mobile_prefixes &&
                     strspn(mobile, "0123456789,") == strlen(mobile) && mobile[0] != ',' &&
                     strstr(mobile, ",,") == NULL &&
                     (mobile[0] == '\0' || mobile[strlen(mobile) - 1] != ',');
    if (!mobile_ok)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "mobile-prefixes", mobile,
                             "use comma-separated leading digits, e.g. 1 or 8,9");
    snprintf(plan.country, sizeof plan.country, "%s", v[O_COUNTRY]);
    snprintf(plan.calling_code, sizeof plan.calling_code, "%s", v[O_CALLING]);
    snprintf(plan.trunk_prefix, sizeof plan.trunk_prefix, "%s", trunk);
    snprintf(plan.international_prefix, sizeof plan.international_prefix, "%s", intl);
    snprintf(plan.mobile_prefixes, sizeof plan.mobile_prefixes, "%s", mobile);
    plan.nsn_length_min = (int)nsn_min;
    plan.nsn_length_max = (int)nsn_max;

    cli_session session;
    if ((rc = cli_session_open(ctx, true, true, &session)) != CLI_CONTINUE)
        return rc;
    size_t plan_count;
    const number_plan *plans = catalog_plans(session.cat, &plan_count);
    for (size_t i = 0; i < plan_count; i++)
        if (strcmp(plans[i].calling_code, plan.calling_code) == 0 &&
            strcmp(plans[i].country, plan.country) != 0)
            return cli_session_end(&session,
                                   cli_fail(TOPUP_E_ALREADY_EXISTS,
                                            "Calling code +%s already belongs to the plan of %s.",
                                            plan.calling_code, plans[i].country));
    topup_result r = store_plan_put(session.st, &plan);
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "Saving the plan of %s failed (%s).",
                                                  plan.country, store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    cli_session_end(&session, CLI_EXIT_OK);

    if (ctx->json)
        return cli_json_print(json_pack(
            "{s:s,s:s,s:s,s:s,s:i,s:i,s:s}", "country", plan.country, "calling_code",
            plan.calling_code, "trunk_prefix", plan.trunk_prefix, "international_prefix",
            plan.international_prefix, "nsn_length_min", plan.nsn_length_min, "nsn_length_max",
            plan.nsn_length_max, "mobile_prefixes", plan.mobile_prefixes));
    printf("Number plan %s set: +%s, national numbers of %d-%d digits, trunk prefix '%s', "
           "international prefix %s, mobile prefixes '%s'.\n",
           plan.country, plan.calling_code, plan.nsn_length_min, plan.nsn_length_max,
           plan.trunk_prefix, plan.international_prefix,
           plan.mobile_prefixes[0] ? plan.mobile_prefixes : "(all numbers)");
    return CLI_EXIT_OK;
}

/* ---- operators ---- */

/* The operator with this id in the session's catalog, or a report and NULL. */
static const operator_info *find_operator(const cli_session *session, const char *id)
{
    const operator_info *op = catalog_operator(session->cat, id);
    if (!op)
        cli_report(TOPUP_E_NOT_FOUND,
                   "There is no operator '%s'; 'topup operator list' shows the operators.", id);
    return op;
}

/* The endpoint of an http operator from --url, --secret-file and --timeout-ms. */
static int read_endpoint(const char *url, const char *secret_file, const char *timeout,
                         operator_endpoint_row *endpoint)
{
    if (!url || !secret_file)
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "An http operator needs --url (its recharge API) and --secret-file (the "
                        "key both sides sign with).");
    const char *path = connector_url_path(url);
    if (!path || strlen(url) >= sizeof endpoint->url || strchr(url, '?') || strpbrk(url, " \t"))
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "--url %s: give the http:// or https:// base URL of the operator's "
                        "recharge API, without a query.",
                        url);
    int64_t timeout_ms = 5000;
    if (timeout && !decimal_parse(timeout, 100, 60000, &timeout_ms))
        return cli_fail(TOPUP_E_INVALID_ARGUMENT, "--timeout-ms %s: give 100 to 60000.", timeout);
    topup_result r = notify_load_secret(secret_file, endpoint->secret, sizeof endpoint->secret);
    if (r != TOPUP_OK)
        return cli_fail(r,
                        "--secret-file %s: cannot be read, is empty or longer than 128 bytes, or "
                        "is readable by group or others (chmod 600).",
                        secret_file);
    snprintf(endpoint->url, sizeof endpoint->url, "%s", url);
    endpoint->timeout_ms = (int)timeout_ms;
    return CLI_CONTINUE;
}

int cli_cmd_operator_add(cli_context *ctx, int argc, char **argv)
{
    enum { O_ID, O_NAME, O_COUNTRY, O_CURRENCY, O_CONNECTOR, O_URL, O_SECRET, O_TIMEOUT, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"id", true},        {"name", true}, {"country", true},     {"currency", true},
        {"connector", true}, {"url", true},  {"secret-file", true}, {"timeout-ms", true},
    };
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_ID], "id")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_NAME], "name")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_COUNTRY], "country")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_CURRENCY], "currency")) != CLI_CONTINUE)
        return rc;
    const char *connector = v[O_CONNECTOR] ? v[O_CONNECTOR] : "hosted";
    operator_info op = {0};
    if (!catalog_id_valid(v[O_ID]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "id", v[O_ID],
                             "an id is 1-32 characters of a-z, 0-9, '_' and '-'");
    if (!display_text_valid(v[O_NAME], sizeof op.name))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "name", v[O_NAME],
                             "a name is 1-96 bytes of UTF-8 without control characters");
    if (!cli_country_valid(v[O_COUNTRY]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "country", v[O_COUNTRY],
                             "use the two upper-case letters of ISO 3166-1, e.g. CN");
    if (!currency_find(v[O_CURRENCY]))
        return cli_bad_value(ctx, TOPUP_E_CURRENCY_UNKNOWN, "currency", v[O_CURRENCY],
                             "use an upper-case ISO 4217 code, e.g. CNY");
    bool forwarded = strcmp(connector, "http") == 0;
    if (!forwarded && strcmp(connector, "hosted") != 0)
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "connector", connector,
                             "a connector is 'hosted' (balances kept here) or 'http' (forwarded "
                             "to the operator's recharge API)");
    operator_endpoint_row endpoint = {0};
    if (forwarded &&
        (rc = read_endpoint(v[O_URL], v[O_SECRET], v[O_TIMEOUT], &endpoint)) != CLI_CONTINUE)
        return rc;
    if (!forwarded && (v[O_URL] || v[O_SECRET] || v[O_TIMEOUT]))
        return cli_fail(TOPUP_E_INVALID_ARGUMENT,
                        "--url, --secret-file and --timeout-ms are for --connector http.");
    snprintf(op.id, sizeof op.id, "%s", v[O_ID]);
    snprintf(op.name, sizeof op.name, "%s", v[O_NAME]);
    snprintf(op.country, sizeof op.country, "%s", v[O_COUNTRY]);
    snprintf(op.currency, sizeof op.currency, "%s", v[O_CURRENCY]);
    snprintf(op.connector, sizeof op.connector, "%s", connector);

    cli_session session;
    if ((rc = cli_session_open(ctx, true, true, &session)) != CLI_CONTINUE)
        return rc;
    if (!catalog_plan(session.cat, op.country))
        return cli_session_end(&session,
                               cli_fail(TOPUP_E_NOT_FOUND,
                                        "There is no number plan for %s; add it first with "
                                        "'topup plan set --country %s ...'.",
                                        op.country, op.country));
    snprintf(endpoint.operator_id, sizeof endpoint.operator_id, "%s", op.id);
    topup_result r = store_operator_add(session.st, &op);
    if (r == TOPUP_OK && forwarded)
        r = store_operator_endpoint_set(session.st, &endpoint);
    if (r == TOPUP_E_ALREADY_EXISTS)
        return cli_session_end(&session, cli_fail(r, "The operator '%s' already exists.", op.id));
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "Adding the operator '%s' failed (%s).", op.id,
                                                  store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    cli_session_end(&session, CLI_EXIT_OK);
    if (ctx->json)
        return cli_json_print(json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", op.id, "name", op.name,
                                        "country", op.country, "currency", op.currency, "connector",
                                        op.connector));
    printf("Operator %s (%s) added: %s, %s, %s.\n", op.id, op.name, op.country, op.currency,
           op.connector);
    return CLI_EXIT_OK;
}

int cli_cmd_operator_list(cli_context *ctx, int argc, char **argv)
{
    const char *v[1];
    int rc = cli_parse(ctx, argc, argv, NULL, 0, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    cli_session session;
    if ((rc = cli_session_open(ctx, false, true, &session)) != CLI_CONTINUE)
        return rc;
    size_t count;
    const operator_info *ops = catalog_operators(session.cat, &count);
    if (ctx->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < count; i++) {
            size_t product_count;
            catalog_products(session.cat, ops[i].id, &product_count);
            json_array_append_new(
                list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "id", ops[i].id, "name", ops[i].name,
                                "country", ops[i].country, "currency", ops[i].currency, "connector",
                                ops[i].connector, "product_count", (json_int_t)product_count));
        }
        return cli_session_end(&session, cli_json_print(json_pack("{s:o}", "operators", list)));
    }
    if (count == 0)
        printf("No operators yet: add one with 'topup operator add'.\n");
    else
        printf("%-16s %-7s %-8s %-9s %-8s %s\n", "ID", "COUNTRY", "CURRENCY", "CONNECTOR",
               "PRODUCTS", "NAME");
    for (size_t i = 0; i < count; i++) {
        size_t product_count;
        catalog_products(session.cat, ops[i].id, &product_count);
        printf("%-16s %-7s %-8s %-9s %-8zu %s\n", ops[i].id, ops[i].country, ops[i].currency,
               ops[i].connector, product_count, ops[i].name);
    }
    return cli_session_end(&session, CLI_EXIT_OK);
}

/* ---- ranges ---- */

int cli_cmd_range_add(cli_context *ctx, int argc, char **argv)
{
    enum { O_PREFIX, O_OPERATOR, O_FORCE, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"prefix", true}, {"operator", true}, {"force", false}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_PREFIX], "prefix")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_OPERATOR], "operator")) != CLI_CONTINUE)
        return rc;
    const char *digits = v[O_PREFIX][0] == '+' ? v[O_PREFIX] + 1 : v[O_PREFIX];
    if (!all_digits(digits, 1, E164_DIGITS_MAX))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "prefix", v[O_PREFIX],
                             "a prefix is 1-15 digits of the E.164 number including the country "
                             "calling code, e.g. 86138");
    if (!catalog_id_valid(v[O_OPERATOR]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "operator", v[O_OPERATOR],
                             "an id is 1-32 characters of a-z, 0-9, '_' and '-'");
    number_range range;
    snprintf(range.prefix, sizeof range.prefix, "%s", digits);
    snprintf(range.operator_id, sizeof range.operator_id, "%s", v[O_OPERATOR]);

    cli_session session;
    if ((rc = cli_session_open(ctx, true, true, &session)) != CLI_CONTINUE)
        return rc;
    const operator_info *op = find_operator(&session, range.operator_id);
    if (!op)
        return cli_session_end(&session, CLI_EXIT_FAILURE);
    const number_plan *plan = catalog_plan(session.cat, op->country);
    if (!plan || strncmp(range.prefix, plan->calling_code, strlen(plan->calling_code)) != 0)
        return cli_session_end(
            &session, cli_fail(TOPUP_E_INVALID_ARGUMENT,
                               "The prefix %s does not start with +%s, the calling code of %s "
                               "where %s's numbers are.",
                               range.prefix, plan ? plan->calling_code : "?", op->country, op->id));
    /* A prefix longer than the plan's longest number could never match one. */
    if (strlen(range.prefix) > strlen(plan->calling_code) + (size_t)plan->nsn_length_max)
        return cli_session_end(
            &session,
            cli_fail(TOPUP_E_INVALID_ARGUMENT,
                     "The prefix %s is longer than any %s number (+%s and at most %d "
                     "digits).",
                     range.prefix, op->country, plan->calling_code, plan->nsn_length_max));
    /* A range decides whose products a number is sold; subscribers of another operator under
     * it would silently be recharged through this one. That is a migration, said explicitly. */
    int64_t taken = 0;
    topup_result r = store_subscribers_under_prefix(session.st, range.prefix, op->id, &taken);
    if (r == TOPUP_OK && taken > 0 && !v[O_FORCE])
        return cli_session_end(
            &session,
            cli_fail(TOPUP_E_ALREADY_EXISTS,
                     "%lld subscriber(s) of other operators have numbers under +%s; their "
                     "recharges would go through %s. Use 'topup portability set' for numbers that "
                     "moved one by one, or add --force if the whole block moved.",
                     (long long)taken, range.prefix, op->id));
    if (r == TOPUP_OK)
        r = store_range_add(session.st, &range);
    if (r == TOPUP_E_ALREADY_EXISTS)
        return cli_session_end(
            &session,
            cli_fail(r, "The range %s is already assigned to an operator.", range.prefix));
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "Adding the range %s failed (%s).",
                                                  range.prefix, store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    cli_session_end(&session, CLI_EXIT_OK);
    if (ctx->json)
        return cli_json_print(
            json_pack("{s:s,s:s}", "prefix", range.prefix, "operator", range.operator_id));
    printf("Range +%s assigned to %s.\n", range.prefix, range.operator_id);
    return CLI_EXIT_OK;
}

/* ---- products ---- */

/* Parses a percentage with at most two decimals ("99.5", "100") into basis points. */
static bool parse_percent(const char *text, int64_t *basis_points)
{
    const char *point = strchr(text, '.');
    size_t whole_length = point ? (size_t)(point - text) : strlen(text);
    size_t fraction_length = point ? strlen(point + 1) : 0;
    if (whole_length == 0 || whole_length > 4 || strspn(text, "0123456789") != whole_length)
        return false;
    if (point && (fraction_length == 0 || fraction_length > 2 ||
                  strspn(point + 1, "0123456789") != fraction_length))
        return false;
    int64_t value = 0;
    for (size_t i = 0; i < whole_length; i++)
        value = value * 10 + (text[i] - '0');
    value *= 100;
    if (fraction_length >= 1)
        value += (point[1] - '0') * 10;
    if (fraction_length == 2)
        value += point[2] - '0';
    if (value < 1 || value > PRICE_BASIS_POINTS_MAX)
        return false;
    *basis_points = value;
    return true;
}

enum { P_ID, P_OPERATOR, P_FACE, P_PRICE, P_MIN, P_MAX, P_STEP, P_PERCENT, P_VALIDITY, P_COUNT };

/* Reads the amounts of a product in its operator's currency into product; CLI_CONTINUE, or the
 * exit code after reporting the first wrong one. */
static int read_amounts(const cli_context *ctx, const char *const *v, const char *currency,
                        product_info *product)
{
    static const char *const names[P_COUNT] = {
        [P_FACE] = "face", [P_PRICE] = "price", [P_MIN] = "min", [P_MAX] = "max", [P_STEP] = "step",
    };
    static const int fixed_fields[] = {P_FACE, P_PRICE};
    static const int range_fields[] = {P_MIN, P_MAX, P_STEP};
    int64_t *targets[P_COUNT] = {
        [P_FACE] = &product->face_minor, [P_PRICE] = &product->price_minor,
        [P_MIN] = &product->min_minor,   [P_MAX] = &product->max_minor,
        [P_STEP] = &product->step_minor,
    };
    bool fixed = product->kind == PRODUCT_FIXED;
    const int *fields = fixed ? fixed_fields : range_fields;
    size_t field_count = fixed ? 2 : 3;
    for (size_t i = 0; i < field_count; i++) {
        int field = fields[i];
        if (!v[field])
            continue;
        topup_result r = money_parse(v[field], currency, targets[field]);
        if (r != TOPUP_OK)
            return bad_amount(ctx, r, names[field], v[field], currency);
    }
    if (fixed && !v[P_PRICE])
        product->price_minor = product->face_minor;
    if (!fixed && product->min_minor > product->max_minor)
        return cli_usage_error(ctx, "--min %s is more than --max %s.", v[P_MIN], v[P_MAX]);
    if (!fixed && (product->max_minor - product->min_minor) % product->step_minor != 0)
        return cli_usage_error(ctx, "--max %s is not --min %s plus a whole number of --step %s.",
                               v[P_MAX], v[P_MIN], v[P_STEP]);
    /* The same bound as --price-percent: a price over ten times the face value is a typo. */
    int64_t price_max = PRICE_BASIS_POINTS_MAX / 10000; /* times the face value */
    if (fixed && product->face_minor <= INT64_MAX / price_max &&
        product->price_minor > product->face_minor * price_max)
        return cli_usage_error(ctx, "--price %s is more than 1000%% of --face %s.", v[P_PRICE],
                               v[P_FACE]);
    return CLI_CONTINUE;
}

/* A range product whose smallest face value prices to nothing could never be sold: the quote
 * refuses a zero price. */
static int check_range_sellable(const cli_context *ctx, const product_info *product)
{
    int64_t price_minor = 0;
    if (product->kind == PRODUCT_FIXED ||
        (money_apply_basis_points(product->min_minor, product->price_basis_points, &price_minor) ==
             TOPUP_OK &&
         price_minor > 0))
        return CLI_CONTINUE;
    return cli_usage_error(ctx,
                           "At --min the price rounds to nothing; raise --min or --price-percent "
                           "so every face value costs at least one minor unit.");
}

static json_t *product_json(const product_info *p, const char *currency)
{
    json_t *value = json_pack("{s:s,s:s,s:s,s:s,s:i}", "id", p->id, "operator", p->operator_id,
                              "kind", p->kind == PRODUCT_FIXED ? "fixed" : "range", "currency",
                              currency, "validity_days", p->validity_days);
    if (!value)
        return NULL;
    if (p->kind == PRODUCT_FIXED) {
        json_object_set_new(value, "face_minor", json_integer(p->face_minor));
        json_object_set_new(value, "price_minor", json_integer(p->price_minor));
    } else {
        json_object_set_new(value, "min_minor", json_integer(p->min_minor));
        json_object_set_new(value, "max_minor", json_integer(p->max_minor));
        json_object_set_new(value, "step_minor", json_integer(p->step_minor));
        json_object_set_new(value, "price_basis_points", json_integer(p->price_basis_points));
    }
    return value;
}

/* One line describing a product for people: "CNY 100.00 for CNY 98.00, 30 days". */
static void describe_product(const product_info *p, const char *currency, char *text,
                             size_t text_size)
{
    char a[MONEY_TEXT_SIZE_MAX], b[MONEY_TEXT_SIZE_MAX], c[MONEY_TEXT_SIZE_MAX];
    if (p->kind == PRODUCT_FIXED)
        snprintf(text, text_size, "fixed  %s %s for %s %s, %d days", currency,
                 cli_money_text(p->face_minor, currency, a), currency,
                 cli_money_text(p->price_minor, currency, b), p->validity_days);
    else
        snprintf(
            text, text_size, "range  %s %s to %s step %s at %lld.%02lld%%, %d days", currency,
            cli_money_text(p->min_minor, currency, a), cli_money_text(p->max_minor, currency, b),
            cli_money_text(p->step_minor, currency, c), (long long)(p->price_basis_points / 100),
            (long long)(p->price_basis_points % 100), p->validity_days);
}

int cli_cmd_product_add(cli_context *ctx, int argc, char **argv)
{
    static const cli_option options[P_COUNT] = {
        [P_ID] = {"id", true},
        [P_OPERATOR] = {"operator", true},
        [P_FACE] = {"face", true},
        [P_PRICE] = {"price", true},
        [P_MIN] = {"min", true},
        [P_MAX] = {"max", true},
        [P_STEP] = {"step", true},
        [P_PERCENT] = {"price-percent", true},
        [P_VALIDITY] = {"validity-days", true},
    };
    const char *v[P_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, P_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[P_ID], "id")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[P_OPERATOR], "operator")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[P_VALIDITY], "validity-days")) != CLI_CONTINUE)
        return rc;
    bool fixed = v[P_FACE] || v[P_PRICE];
    bool ranged = v[P_MIN] || v[P_MAX] || v[P_STEP] || v[P_PERCENT];
    if (fixed == ranged)
        return cli_usage_error(ctx, "Give either --face [--price] for a fixed product or "
                                    "--min, --max and --step [--price-percent] for a range.");
    if (fixed && (rc = cli_require(ctx, v[P_FACE], "face")) != CLI_CONTINUE)
        return rc;
    if (ranged && ((rc = cli_require(ctx, v[P_MIN], "min")) != CLI_CONTINUE ||
                   (rc = cli_require(ctx, v[P_MAX], "max")) != CLI_CONTINUE ||
                   (rc = cli_require(ctx, v[P_STEP], "step")) != CLI_CONTINUE))
        return rc;

    product_info product = {.kind = fixed ? PRODUCT_FIXED : PRODUCT_RANGE};
    if (!catalog_id_valid(v[P_ID]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "id", v[P_ID],
                             "an id is 1-32 characters of a-z, 0-9, '_' and '-'");
    if (!catalog_id_valid(v[P_OPERATOR]))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "operator", v[P_OPERATOR],
                             "an id is 1-32 characters of a-z, 0-9, '_' and '-'");
    int64_t days;
    if (!decimal_parse(v[P_VALIDITY], 0, VALIDITY_DAYS_MAX, &days))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "validity-days", v[P_VALIDITY],
                             "a whole number of days from 0 to 3650");
    product.validity_days = (int)days;
    product.price_basis_points = 10000;
    if (v[P_PERCENT] && !parse_percent(v[P_PERCENT], &product.price_basis_points))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "price-percent", v[P_PERCENT],
                             "a percentage of the face from 0.01 to 1000 with at most two "
                             "decimals, e.g. 99.50");
    if (fixed)
        product.price_basis_points = 0;
    snprintf(product.id, sizeof product.id, "%s", v[P_ID]);
    snprintf(product.operator_id, sizeof product.operator_id, "%s", v[P_OPERATOR]);

    cli_session session;
    if ((rc = cli_session_open(ctx, true, true, &session)) != CLI_CONTINUE)
        return rc;
    const operator_info *op = find_operator(&session, product.operator_id);
    if (!op)
        return cli_session_end(&session, CLI_EXIT_FAILURE);
    char currency[CURRENCY_CODE_SIZE];
    snprintf(currency, sizeof currency, "%s", op->currency);
    if ((rc = read_amounts(ctx, v, currency, &product)) != CLI_CONTINUE ||
        (rc = check_range_sellable(ctx, &product)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    topup_result r = store_product_add(session.st, &product);
    if (r == TOPUP_E_ALREADY_EXISTS)
        return cli_session_end(&session,
                               cli_fail(r, "The product '%s' already exists.", product.id));
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "Adding the product '%s' failed (%s).",
                                                  product.id, store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    cli_session_end(&session, CLI_EXIT_OK);
    if (ctx->json)
        return cli_json_print(product_json(&product, currency));
    char text[160];
    describe_product(&product, currency, text, sizeof text);
    printf("Product %s added for %s: %s.\n", product.id, product.operator_id, text);
    return CLI_EXIT_OK;
}

int cli_cmd_product_list(cli_context *ctx, int argc, char **argv)
{
    enum { O_OPERATOR, O_COUNT };
    static const cli_option options[O_COUNT] = {{"operator", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    cli_session session;
    if ((rc = cli_session_open(ctx, false, true, &session)) != CLI_CONTINUE)
        return rc;
    size_t op_count;
    const operator_info *ops = catalog_operators(session.cat, &op_count);
    if (v[O_OPERATOR]) {
        ops = find_operator(&session, v[O_OPERATOR]);
        if (!ops)
            return cli_session_end(&session, CLI_EXIT_FAILURE);
        op_count = 1;
    }
    json_t *list = ctx->json ? json_array() : NULL;
    size_t shown = 0;
    for (size_t i = 0; i < op_count; i++) {
        size_t count;
        const product_info *products = catalog_products(session.cat, ops[i].id, &count);
        for (size_t j = 0; j < count; j++, shown++) {
            if (ctx->json) {
                json_array_append_new(list, product_json(&products[j], ops[i].currency));
                continue;
            }
            if (shown == 0)
                printf("%-20s %-12s %s\n", "ID", "OPERATOR", "KIND   OFFER");
            char text[160];
            describe_product(&products[j], ops[i].currency, text, sizeof text);
            printf("%-20s %-12s %s\n", products[j].id, products[j].operator_id, text);
        }
    }
    if (ctx->json)
        return cli_session_end(&session, cli_json_print(json_pack("{s:o}", "products", list)));
    if (shown == 0)
        printf("No products yet: add one with 'topup product add'.\n");
    return cli_session_end(&session, CLI_EXIT_OK);
}

/* ---- portability ---- */

int cli_cmd_portability_set(cli_context *ctx, int argc, char **argv)
{
    enum { O_MSISDN, O_OPERATOR, O_COUNTRY, O_COUNT };
    static const cli_option options[O_COUNT] = {
        {"msisdn", true}, {"operator", true}, {"country", true}};
    const char *v[O_COUNT];
    int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, NULL, 0, NULL);
    if (rc != CLI_CONTINUE)
        return rc;
    if ((rc = cli_require(ctx, v[O_MSISDN], "msisdn")) != CLI_CONTINUE ||
        (rc = cli_require(ctx, v[O_OPERATOR], "operator")) != CLI_CONTINUE)
        return rc;
    const char *country = v[O_COUNTRY] ? v[O_COUNTRY] : CLI_COUNTRY_DEFAULT;
    if (!cli_country_valid(country))
        return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "country", country,
                             "use the two upper-case letters of ISO 3166-1, e.g. CN");

    cli_session session;
    if ((rc = cli_session_open(ctx, true, true, &session)) != CLI_CONTINUE)
        return rc;
    size_t plan_count;
    const number_plan *plans = catalog_plans(session.cat, &plan_count);
    char e164[E164_SIZE];
    const number_plan *plan;
    topup_result r = msisdn_normalize(v[O_MSISDN], plans, plan_count, country, e164, &plan);
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r,
                                                  "--msisdn '%s' (national numbers are read "
                                                  "as %s numbers).",
                                                  v[O_MSISDN], country));
    const operator_info *op = find_operator(&session, v[O_OPERATOR]);
    if (!op)
        return cli_session_end(&session, CLI_EXIT_FAILURE);
    if (strcmp(op->country, plan->country) != 0)
        return cli_session_end(&session,
                               cli_fail(TOPUP_E_INVALID_ARGUMENT,
                                        "%s is a number of %s but %s serves %s; a number can "
                                        "only be ported within its country.",
                                        e164, plan->country, op->id, op->country));
    const operator_info *by_range = catalog_operator_for_number(session.cat, e164);
    r = store_portability_set(session.st, e164, op->id);
    if (r != TOPUP_OK)
        return cli_session_end(&session, cli_fail(r, "Recording the port of %s failed (%s).", e164,
                                                  store_errmsg(session.st)));
    if ((rc = cli_session_commit(&session)) != CLI_CONTINUE)
        return cli_session_end(&session, rc);
    char range_operator[CATALOG_ID_SIZE];
    snprintf(range_operator, sizeof range_operator, "%s", by_range ? by_range->id : "");
    char op_id[CATALOG_ID_SIZE];
    snprintf(op_id, sizeof op_id, "%s", op->id);
    cli_session_end(&session, CLI_EXIT_OK);
    if (ctx->json)
        return cli_json_print(json_pack("{s:s,s:s,s:s?}", "msisdn", e164, "operator", op_id,
                                        "range_operator",
                                        range_operator[0] ? range_operator : NULL));
    printf("%s is now served by %s (its number range says %s).\n", e164, op_id,
           range_operator[0] ? range_operator : "no operator");
    return CLI_EXIT_OK;
}
