/* `topup reconcile alipay|wechat FILE`: match a payment provider's daily trade
 * bill against topup's payments and refunds, and report what matched, what is
 * missing on either side, what differs, and whether the clearing account
 * agrees.
 *
 * The bill is downloaded from the provider and handed over by the operator; it
 * is read as untrusted input (bill.h bounds and checks every line) and a bill
 * with one bad line is refused whole, naming the line, so that nothing is
 * reported from a truncated or misread file. The command only reads the
 * database.
 *
 * Exit status: 0 everything matched and the clearing-account difference is 0; 1
 * the report lists exceptions; 2 nothing was reconciled (the command line, the
 * bill or the database was wrong, and stderr says which). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "payments/bill.h"
#include "payments/reconcile.h"

/* Reads the bill of provider_name from path; CLI_CONTINUE, or CLI_EXIT_USAGE
 * after saying which file and line were wrong. */
static int bill_load(const cli_context *ctx, const char *provider_name,
                     const char *path, bill **b) {
  bill_error error;
  topup_result r;
  if (strcmp(provider_name, "alipay") == 0)
    r = bill_read_alipay(path, b, &error);
  else if (strcmp(provider_name, "wechat") == 0)
    r = bill_read_wechat(path, b, &error);
  else
    return cli_usage_error(
        ctx, "There is no provider '%s': use alipay or wechat.", provider_name);
  if (r == TOPUP_OK)
    return CLI_CONTINUE;
  if (error.line)
    cli_report(r, "%s:%u: %s Nothing was reconciled.", error.where, error.line,
               error.message);
  else
    cli_report(r, "%s: %s Nothing was reconciled.", error.where, error.message);
  return CLI_EXIT_USAGE;
}

/* The period: --date's day when it was given (from and to are set already),
 * else what the bill says it covers. */
static int period_choose(bool date_given, const bill *b, const char *path,
                         int64_t *from, int64_t *to) {
  if (date_given || bill_period(b, from, to))
    return CLI_CONTINUE;
  cli_report(TOPUP_E_INVALID_ARGUMENT,
             "%s: the bill does not say which day it covers (it lists no "
             "payment); give "
             "--date YYYY-MM-DD. Nothing was reconciled.",
             path);
  return CLI_EXIT_USAGE;
}

/* Matches the bill against the store and prints the report; the exit status. */
static int reconcile_and_report(const cli_context *ctx, const bill *b,
                                const char *path, int64_t from, int64_t to) {
  cli_session session;
  /* A database that cannot be opened means nothing was reconciled, like a bad
   * bill. */
  if (cli_session_open(ctx, false, false, &session) != CLI_CONTINUE)
    return CLI_EXIT_USAGE;
  reconcile_report report;
  topup_result r = reconcile_run(session.st, b, from, to, &report);
  if (r != TOPUP_OK) {
    cli_report(r,
               "Reconciling %s against %s failed (%s). Nothing was reconciled.",
               path, ctx->db_path,
               r == TOPUP_E_STORAGE ? store_errmsg(session.st) : "no detail");
    return cli_session_end(&session, CLI_EXIT_USAGE);
  }
  cli_session_end(&session, CLI_CONTINUE);
  int rc = reconcile_report_clean(&report) ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
  if (ctx->json) {
    if (cli_json_print(reconcile_report_json(&report)) != CLI_EXIT_OK)
      rc = CLI_EXIT_USAGE; /* no report reached stdout */
  } else {
    reconcile_report_print(&report, path, stdout);
  }
  reconcile_report_release(&report);
  return rc;
}

int cli_cmd_reconcile(cli_context *ctx, int argc, char **argv) {
  enum { O_DATE, O_COUNT };
  static const cli_option options[O_COUNT] = {{"date", true}};
  const char *v[O_COUNT];
  char *arguments[2];
  size_t argument_count = 0;
  int rc = cli_parse(ctx, argc, argv, options, O_COUNT, v, arguments, 2,
                     &argument_count);
  if (rc != CLI_CONTINUE)
    return rc;
  if (argument_count != 2)
    return cli_usage_error(
        ctx, "Name the provider (alipay or wechat) and the bill file.");
  const char *provider_name = arguments[0], *path = arguments[1];
  int64_t from = 0, to = 0;
  if (v[O_DATE] && !bill_day_parse(v[O_DATE], &from, &to))
    return cli_bad_value(ctx, TOPUP_E_INVALID_ARGUMENT, "date", v[O_DATE],
                         "use a day YYYY-MM-DD (the bill's day in UTC+8)");
  bill *b = NULL;
  if ((rc = bill_load(ctx, provider_name, path, &b)) != CLI_CONTINUE)
    return rc;
  if ((rc = period_choose(v[O_DATE] != NULL, b, path, &from, &to)) ==
      CLI_CONTINUE)
    rc = reconcile_and_report(ctx, b, path, from, to);
  bill_free(b);
  return rc;
}
