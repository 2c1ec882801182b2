/* topup: the operator's command line (init, migrate, catalog, API keys, subscriber import,
 * recharge, balance, history, verify).
 *
 * SECURITY: the command line is run by an operator who may already read and write the database
 * file, so its arguments are trusted to come from that person but are still validated like any
 * input: every amount, number, id and file is checked before anything is written, and every
 * change runs in one transaction that is rolled back on any error. A subscriber CSV may come from
 * a third party's export; it is bounded (64 MiB, 1 KiB per line) and validated in full before the
 * first row is written. API key secrets are printed once and only their SHA-256 is stored. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const cli_command commands[] = {
    {"init", NULL, cli_cmd_init, "create a new database (with --demo: and load demo data)",
     "Usage: topup init [--demo] [--db PATH]\n"
     "Creates the database file (and its directory) at the latest schema. Refuses a file that\n"
     "already holds a database: 'topup migrate' upgrades an existing one.\n"
     "  --demo      also load the DEMO catalog: CN and PH number plans, China Mobile, China\n"
     "              Unicom, China Telecom and Globe Telecom with their ranges and products\n"},
    {"migrate", NULL, cli_cmd_migrate, "upgrade the database schema to this version's",
     "Usage: topup migrate [--db PATH]\n"
     "Applies the schema migrations the database lacks, each in its own transaction.\n"},
    {"plan", "set", cli_cmd_plan_set, "add or replace a country's numbering plan",
     "Usage: topup plan set --country CC --calling-code DIGITS --nsn-min N --nsn-max N\n"
     "                      [--trunk-prefix DIGITS] [--international-prefix DIGITS]\n"
     "                      [--mobile-prefixes DIGITS[,DIGITS...]]\n"
     "  --country CC                ISO 3166-1 alpha-2 code, e.g. CN\n"
     "  --calling-code DIGITS       country calling code, 1-3 digits, e.g. 86\n"
     "  --nsn-min N, --nsn-max N    national significant number length, digits\n"
     "  --trunk-prefix DIGITS       national dialling prefix, e.g. 0 (default none)\n"
     "  --international-prefix D    prefix for dialling abroad (default 00)\n"
     "  --mobile-prefixes LIST      leading NSN digits of mobile numbers, e.g. 1 (default: all)\n"},
    {"operator", "add", cli_cmd_operator_add, "add an operator",
     "Usage: topup operator add --id ID --name NAME --country CC --currency CUR\n"
     "                          [--connector hosted]\n"
     "  --id ID           1-32 characters of a-z, 0-9, '_' and '-'\n"
     "  --name NAME       display name, UTF-8, at most 96 bytes\n"
     "  --country CC      the numbering plan its numbers belong to (see 'topup plan set')\n"
     "  --currency CUR    ISO 4217 code all its products are sold in, e.g. CNY\n"
     "  --connector C     hosted (balances kept in topup's ledger; the default)\n"},
    {"operator", "list", cli_cmd_operator_list, "list operators", "Usage: topup operator list\n"},
    {"range", "add", cli_cmd_range_add, "assign a number range to an operator",
     "Usage: topup range add --prefix DIGITS --operator ID\n"
     "  --prefix DIGITS   E.164 digits with the country calling code, e.g. 86138 (a leading\n"
     "                    '+' is allowed); the longest matching prefix wins\n"
     "  --operator ID     the operator that serves numbers starting with the prefix\n"
     "  --force           also when subscribers of other operators have numbers under the\n"
     "                    prefix (the block moved); without it such a range is refused\n"},
    {"product", "add", cli_cmd_product_add, "add a fixed or range product",
     "Usage: topup product add --id ID --operator OP --validity-days N\n"
     "                         (--face AMOUNT [--price AMOUNT]\n"
     "                          | --min AMOUNT --max AMOUNT --step AMOUNT [--price-percent P])\n"
     "Amounts are decimals in major units of the operator's currency (50.00 CNY = 5000 fen).\n"
     "  --face, --price        a fixed denomination and what it sells for (default: the face)\n"
     "  --min, --max, --step   a range of face values min, min+step, ..., max\n"
     "  --price-percent P      range price as a percentage of the face, e.g. 99.50 (default 100)\n"
     "  --validity-days N      days of validity each recharge adds (0-3650)\n"},
    {"product", "list", cli_cmd_product_list, "list products",
     "Usage: topup product list [--operator OP]\n"},
    {"portability", "set", cli_cmd_portability_set, "record a ported number's operator",
     "Usage: topup portability set --msisdn NUMBER --operator ID [--country CC]\n"
     "  --msisdn NUMBER   the number, national or international (+CC...)\n"
     "  --operator ID     the operator the number was ported to\n"
     "  --country CC      country of a national number (default " CLI_COUNTRY_DEFAULT ")\n"},
    {"apikey", "create", cli_cmd_apikey_create, "create an API key (shown once)",
     "Usage: topup apikey create --name NAME --scope SCOPE[,SCOPE...] [--funding ACCOUNT]\n"
     "  --name NAME         1-64 printable characters, no spaces\n"
     "  --scope LIST        recharge, read and/or admin, comma-separated\n"
     "  --funding ACCOUNT   account code recharges are paid from (default clearing:NAME)\n"
     "The key is printed once, alone on the last line; only its SHA-256 is stored.\n"},
    {"apikey", "list", cli_cmd_apikey_list, "list API keys (never their secrets)",
     "Usage: topup apikey list\n"},
    {"apikey", "revoke", cli_cmd_apikey_revoke, "revoke an API key",
     "Usage: topup apikey revoke --name NAME\n"},
    {"subscribers", "set-status", cli_cmd_subscribers_set_status,
     "suspend, close or reactivate a number",
     "Usage: topup subscribers set-status --msisdn NUMBER --status STATUS [--country CC]\n"
     "  --msisdn NUMBER   the number, national or international (+CC...)\n"
     "  --status STATUS   active, suspended (still rechargeable) or closed (refused)\n"
     "  --country CC      country of a national number (default " CLI_COUNTRY_DEFAULT ")\n"
     "The balance is not touched.\n"},
    {"subscribers", "import", cli_cmd_subscribers_import, "import subscribers from a CSV file",
     "Usage: topup subscribers import FILE.csv [--country CC]\n"
     "The first line is the header 'msisdn,status' or 'msisdn,status,balance,valid_until'.\n"
     "  msisdn        the number, national (of --country, default " CLI_COUNTRY_DEFAULT
     ") or +CC...\n"
     "  status        active, suspended or closed\n"
     "  balance       opening balance in major units of the operator's currency (may be empty)\n"
     "  valid_until   YYYY-MM-DD (00:00 UTC) or YYYY-MM-DDTHH:MM:SSZ (may be empty)\n"
     "Fields are not quoted. The whole file is checked first: if any line is wrong, every wrong\n"
     "line is listed and nothing is imported. At most 64 MiB, 1 KiB per line.\n"},
    {"recharge", NULL, cli_cmd_recharge, "recharge a number",
     "Usage: topup recharge --msisdn NUMBER (--product ID [--amount AMOUNT] | --amount AMOUNT)\n"
     "                      [--currency CUR] [--funding ACCOUNT] [--key KEY] [--country CC]\n"
     "  --msisdn NUMBER    the number, national (of --country) or international (+CC...)\n"
     "  --product ID       a product of the number's operator; a range product needs --amount\n"
     "  --amount AMOUNT    face value in major units, e.g. 50.00\n"
     "  --currency CUR     the amount's currency (default: the operator's)\n"
     "  --funding ACCOUNT  account code the price is debited from (default clearing:cli)\n"
     "  --key KEY          idempotency key: repeating the same recharge with it credits once\n"
     "  --country CC       country of a national number (default " CLI_COUNTRY_DEFAULT ")\n"},
    {"balance", NULL, cli_cmd_balance, "show a subscriber's balance and validity",
     "Usage: topup balance --msisdn NUMBER [--country CC]\n"},
    {"history", NULL, cli_cmd_history, "list a number's recharges, newest first",
     "Usage: topup history --msisdn NUMBER [--limit N] [--country CC]\n"
     "  --limit N   at most N orders (1-1000, default 20)\n"},
    {"verify", NULL, cli_cmd_verify, "recompute balances from transfers and check the ledger",
     "Usage: topup verify\n"
     "Recomputes every balance from the transfers, checks each currency sums to zero and that\n"
     "every succeeded order has exactly its transfers. Exits 1 when a problem is found.\n"},
    {"pay", "verify-notify", cli_cmd_pay_verify_notify,
     "say whether a raw payment notification is genuine and what it says",
     "Usage: topup pay verify-notify PROVIDER --key FILE [--apiv3-key FILE] [--serial SERIAL]\n"
     "PROVIDER is alipay, wechat or card. The notification is read on standard input: the form\n"
     "body for alipay; 'Name: value' header lines, a blank line and the body for wechat and card.\n"
     "  --key FILE        alipay: Alipay's public key; wechat: the platform certificate or public\n"
     "                    key; card: the webhook secret (a file only its owner can read)\n"
     "  --apiv3-key FILE  wechat: the APIv3 key, to decrypt and show the resource\n"
     "  --serial SERIAL   wechat: the platform certificate serial the notification must name\n"
     "Exits 0 when genuine (and prints what it says), 1 when not (and says why).\n"},
    {"pay", "sign", cli_cmd_pay_sign, "show the signature topup sends with a provider request",
     "Usage: topup pay sign PROVIDER --key FILE [options]\n"
     "  alipay: standard input is a JSON object of the request's string parameters; prints sign\n"
     "  wechat: --mchid ID --serial SERIAL --method M --url PATH --nonce N [--timestamp T];\n"
     "          standard input is the body; prints the Authorization header value\n"
     "  card:   [--timestamp T]; standard input is the body; prints the Stripe-Signature value\n"
     "  --key FILE        the private key (alipay, wechat) or the webhook secret (card), mode "
     "600\n"},
    {"pay", "gateway", cli_cmd_pay_gateway, "call a payment provider's gateway once",
     "Usage: topup pay gateway PROVIDER OPERATION --config FILE --out-trade-no N [options]\n"
     "PROVIDER is alipay, wechat, card or sandbox, set up by the config file's PROVIDER.*\n"
     "settings. OPERATION and its options:\n"
     "  create  --amount A --currency C --method page|wap|qr|h5|code|checkout [--subject S]\n"
     "          [--auth-code CODE] [--client-ip IP] [--expires-in SECONDS (default 900)]\n"
     "  query   [--provider-ref REF]\n"
     "  refund  --out-request-no R --amount A --total A --currency C [--trade-no T]\n"
     "          [--reason S]\n"
     "  close   [--provider-ref REF]\n"
     "Prints the answer as JSON. Exits 0 when the provider answered yes, 1 when it refused,\n"
     "3 when it did not answer or its answer did not verify (the outcome is unknown).\n"},
    {"pay", "notifications", cli_cmd_pay_notifications,
     "list payment notifications as received and judged, newest first",
     "Usage: topup pay notifications [--limit N]\n"
     "Every notification is kept with its verdict: credited, duplicate, refused (not genuine or\n"
     "not for this app), mismatch, refunding, closed, ignored or unknown_trade.\n"
     "  --limit N   at most N (1-1000, default 50)\n"},
    {"alerts", NULL, cli_cmd_alerts, "list what a person must look at, newest first",
     "Usage: topup alerts [--limit N]\n"
     "Alerts are raised for a payment whose amount or currency differs from its order, a\n"
     "refund the provider refused, a notification for an unknown trade.\n"
     "  --limit N   at most N (1-1000, default 50)\n"},
    {"reconcile", NULL, cli_cmd_reconcile,
     "match a provider's daily trade bill against topup's payments and refunds",
     "Usage: topup reconcile alipay|wechat FILE [--date YYYY-MM-DD]\n"
     "Matches every payment and refund in a provider's trade bill to topup's by out_trade_no\n"
     "and out_request_no, and topup's payments and refunds of the period to the bill. Only\n"
     "reads the database.\n"
     "  alipay FILE   the trade bill zip downloaded from Alipay (its ..._业务明细.csv is read)\n"
     "  wechat FILE   the trade bill CSV downloaded from WeChat Pay (ALL, SUCCESS or REFUND)\n"
     "  --date DAY    the day to reconcile, YYYY-MM-DD in UTC+8 (default: the period in the\n"
     "                Alipay bill's header, or the day of the WeChat Pay bill's payments)\n"
     "Lists matched, missing_in_topup, missing_at_provider, amount_mismatch and\n"
     "status_mismatch lines, and the clearing-account difference (bill net - topup net).\n"
     "A bill with one malformed line is refused whole, naming the file and the line.\n"
     "Exit status: 0 all matched and the difference is 0; 1 exceptions; 2 nothing reconciled.\n"},
    {"outbox", "list", cli_cmd_outbox_list, "list SMS in the outbox, newest first",
     "Usage: topup outbox list [--status STATUS] [--limit N]\n"
     "  --status STATUS   queued, sending, sent, delivered, undelivered or dead\n"
     "  --limit N         at most N (1-1000, default 50)\n"},
    {"outbox", "show", cli_cmd_outbox_show, "show one SMS with its text",
     "Usage: topup outbox show ID\n"},
    {"outbox", "retry", cli_cmd_outbox_retry, "queue an SMS that was not sent again",
     "Usage: topup outbox retry ID\n"
     "Queues a dead, queued or stuck message to be sent now. A message the SMSC acknowledged is\n"
     "never sent again.\n"},
    {"sms", "preview", cli_cmd_sms_preview, "show what an SMS template says",
     "Usage: topup sms preview EVENT [--lang zh-CN|en] [--facts JSON]\n"
     "EVENT: recharge_succeeded, recharge_refunded, payment_received, otp, low_balance.\n"
     "Without --facts, sample facts (a CNY 100.00 recharge of +8613800138000) are used.\n"},
    {"sms", "send", cli_cmd_sms_send, "send one SMS through the configured transport",
     "Usage: topup sms send --config FILE --to NUMBER --text TEXT [--receipt]\n"
     "                      [--wait-receipt SECONDS] [--timeout SECONDS]\n"
     "Starts the SMS transport the config file's sms.* settings describe, hands one message\n"
     "over once the link is up, prints the outcome as JSON and stops (SMPP: unbinds).\n"
     "  --to NUMBER             the recipient, E.164 with '+', e.g. +8613800138000\n"
     "  --text TEXT             UTF-8, at most 2048 bytes: GSM 7-bit when every character\n"
     "                          fits, else UCS-2; split into concatenated parts when long\n"
     "  --receipt               ask for a delivery receipt (registered_delivery 1)\n"
     "  --wait-receipt SECONDS  also wait this long for the receipt and print it (implies\n"
     "                          --receipt)\n"
     "  --timeout SECONDS       how long to wait for the link and the answer (default 30)\n"
     "Prints {\"outcome\":\"accepted\"|\"rejected\"|\"retry\",\"detail\",\"smsc_id\",\"encoding\",\n"
     "\"parts\"} and, when a receipt was asked for, \"receipt\" (null when none came).\n"
     "Exits 0 accepted, 1 rejected, 3 retry (not known to have been taken), 2 usage or config\n"
     "error.\n"},
    {"merchant", "add", cli_cmd_merchant_add, "add a partner merchant (its secret is shown once)",
     "Usage: topup merchant add --id ID --name NAME --currency CUR [--credit-limit AMOUNT]\n"
     "                          [--allow-ip IP[,IP...]]\n"
     "  --id ID               1-32 characters of a-z, 0-9, '_' and '-'\n"
     "  --currency CUR        the currency of its float and of everything it buys\n"
     "  --credit-limit AMOUNT how far below zero its float may go (default 0)\n"
     "  --allow-ip LIST       addresses its requests may come from (default: any)\n"},
    {"merchant", "list", cli_cmd_merchant_list, "list partner merchants and their floats",
     "Usage: topup merchant list\n"},
    {"merchant", "show", cli_cmd_merchant_show, "show one merchant", "Usage: topup merchant show --id ID\n"},
    {"merchant", "suspend", cli_cmd_merchant_suspend, "stop a merchant's orders",
     "Usage: topup merchant suspend --id ID\n"},
    {"merchant", "activate", cli_cmd_merchant_activate, "let a suspended merchant order again",
     "Usage: topup merchant activate --id ID\n"},
    {"merchant", "topup-float", cli_cmd_merchant_topup_float, "add to (or take from) a merchant's float",
     "Usage: topup merchant topup-float --id ID --amount AMOUNT\n"
     "A positive AMOUNT (major units of the merchant's currency) is a deposit; a negative one\n"
     "takes money back, never below the credit limit. Both are ledger transfers with\n"
     "merchant_deposits.\n"},
    {"merchant", "price", cli_cmd_merchant_price, "set a merchant's wholesale price",
     "Usage: topup merchant price --id ID (--operator OP | --product ID) --percent P\n"
     "  --percent P   what the merchant pays, in percent of the face value, e.g. 98.50; a\n"
     "                product's price wins over its operator's\n"},
    {"callbacks", "list", cli_cmd_callbacks_list, "list partner callbacks, newest first",
     "Usage: topup callbacks list [--merchant ID] [--status STATUS] [--limit N]\n"
     "  --merchant ID     only this merchant's\n"
     "  --status STATUS   queued, delivered or dead\n"
     "  --limit N         at most N (1-1000, default 50)\n"},
    {"callbacks", "show", cli_cmd_callbacks_show, "show one callback, its body and every attempt",
     "Usage: topup callbacks show --id N\n"},
    {"callbacks", "retry", cli_cmd_callbacks_retry, "make a dead or waiting callback due now",
     "Usage: topup callbacks retry --id N\n"
     "topupd sends it within seconds; one that is past partners.callback_give_up_s and fails\n"
     "again is dead again. A delivered callback is never sent again.\n"},
    {"hall", "add", cli_cmd_hall_add, "add a business hall (and its safe account)",
     "Usage: topup hall add --id ID --name NAME --currency CUR [--address TEXT]\n"
     "  --id ID          1-24 characters of a-z, 0-9, '_' and '-'\n"
     "  --name NAME      display name, UTF-8, at most 96 bytes\n"
     "  --currency CUR   the currency of its safe, its drawers and its cash, e.g. CNY\n"
     "  --address TEXT   street address, at most 192 bytes\n"
     "Recorded in the audit log.\n"},
    {"hall", "list", cli_cmd_hall_list, "list business halls", "Usage: topup hall list\n"},
    {"staff", "add", cli_cmd_staff_add, "add a teller, supervisor or admin",
     "Usage: topup staff add --id LOGIN --name NAME --role ROLE [--hall ID]\n"
     "                       [--password-file FILE]\n"
     "  --id LOGIN             login name: 1-32 characters of a-z, 0-9, '.', '_' and '-'\n"
     "  --name NAME            display name, UTF-8, at most 96 bytes\n"
     "  --role ROLE            teller, supervisor or admin\n"
     "  --hall ID              the hall a teller or supervisor works at (an admin needs none)\n"
     "  --password-file FILE   read the password from the first line of FILE, which only its\n"
     "                         owner may read (chmod 600); without it, from standard input\n"
     "The password (8-128 bytes, not only digits) is stored as an Argon2id hash; it is never\n"
     "taken from the command line. Recorded in the audit log.\n"},
    {"staff", "list", cli_cmd_staff_list, "list staff (never their password hashes)",
     "Usage: topup staff list [--hall ID]\n"},
    {"staff", "disable", cli_cmd_staff_disable, "stop a staff member from working",
     "Usage: topup staff disable --id LOGIN\n"
     "A disabled staff member cannot open a shift; an open shift of theirs can still be\n"
     "closed. Recorded in the audit log.\n"},
    {"audit", "list", cli_cmd_audit_list, "list the counter's audit log, newest first",
     "Usage: topup audit list [--staff LOGIN] [--hall ID] [--limit N]\n"
     "Every staff action, and every action refused by rule, with who, where from and when.\n"
     "  --staff LOGIN   only this staff member's\n"
     "  --hall ID       only this hall's\n"
     "  --limit N       at most N (1-1000, default 50)\n"},
    {"shift", "open", cli_cmd_shift_open, "open a teller's shift with the counted float",
     "Usage: topup shift open --staff LOGIN --float AMOUNT [--hall ID]\n"
     "  --staff LOGIN    the teller or supervisor whose shift and drawer it is\n"
     "  --float AMOUNT   the cash counted into the drawer, e.g. 200.00 (0 for none); it moves\n"
     "                   from safe:HALL into drawer:HALL:LOGIN\n"
     "  --hall ID        where the shift is (default: the staff member's hall, the only one\n"
     "                   allowed)\n"},
    {"shift", "close", cli_cmd_shift_close, "close a teller's shift with the counted cash",
     "Usage: topup shift close --staff LOGIN --counted AMOUNT [--reason TEXT]\n"
     "  --counted AMOUNT   the cash counted in the drawer\n"
     "  --reason TEXT      why the cash is over or short (required then, at most 127 bytes)\n"
     "The difference from what the ledger says the drawer holds goes to cash_over_short, the\n"
     "counted cash back to the hall's safe. Prints the shift report.\n"},
    {"shift", "report", cli_cmd_shift_report, "show a shift's report",
     "Usage: topup shift report --id N\n"
     "Totals per tender and per operator, and the cash expected, counted and over or short.\n"
     "Seeing it is recorded in the audit log.\n"},
    {"invoices", "list", cli_cmd_invoices_list, "list a day's counter invoice requests",
     "Usage: topup invoices list --date YYYY-MM-DD [--hall ID]\n"
     "The counter recharges whose customer asked for an invoice (发票), taken on that day in\n"
     "Beijing time: time, order, title, tax id, amount paid, hall, teller and status. An\n"
     "invoice of a reversed order shows \"reversed\" and is void.\n"
     "  --hall ID   only this hall's\n"},
    {"invoices", "pdf", cli_cmd_invoices_pdf, "write a counter invoice request as an A4 PDF",
     "Usage: topup invoices pdf --order ID --out FILE\n"
     "The record finance issues the invoice from: seller, buyer title and tax id, the item and\n"
     "amount, the hall and teller; marked void when the order was reversed. FILE is replaced.\n"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_overview(FILE *out)
{
    fputs("Usage: topup COMMAND [OPTIONS]\n"
          "The command line of topup, the prepaid recharge platform.\n\nCommands:\n",
          out);
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        char name[48];
        snprintf(name, sizeof name, "%s%s%s", commands[i].group, commands[i].verb ? " " : "",
                 commands[i].verb ? commands[i].verb : "");
        fprintf(out, "  %-20s %s\n", name, commands[i].summary);
    }
    fputs("\nEvery command takes --db PATH (default " CLI_DB_PATH_DEFAULT "), --json and "
          "--help.\nExit status: 0 success, 1 refused or failed, 2 wrong command line.\n",
          out);
}

static bool group_exists(const char *group)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].group, group) == 0 && commands[i].verb)
            return true;
    return false;
}

static void print_group(const char *group, FILE *out)
{
    fprintf(out, "Usage: topup %s VERB [OPTIONS]\n\nVerbs:\n", group);
    for (size_t i = 0; i < COMMAND_COUNT; i++)
        if (strcmp(commands[i].group, group) == 0 && commands[i].verb)
            fprintf(out, "  %-10s %s\n", commands[i].verb, commands[i].summary);
    fprintf(out, "\nRun 'topup %s VERB --help' for a verb's options.\n", group);
}

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

/* Finishes with stdout flushed, so a full disk or a closed pipe is a failure, not silence. */
static int finish(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_report(TOPUP_E_IO, "Cannot write to stdout.");
        return status ? status : CLI_EXIT_FAILURE;
    }
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_overview(stderr);
        return CLI_EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        print_overview(stdout);
        return finish(CLI_EXIT_OK);
    }
    const char *group = argv[1];
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        const cli_command *command = &commands[i];
        if (strcmp(command->group, group) != 0)
            continue;
        int skip = 1; /* the handler's argv starts at the command or verb */
        if (command->verb) {
            if (argc < 3 || strcmp(argv[2], command->verb) != 0)
                continue;
            skip = 2;
        }
        cli_context ctx = {.command = command, .db_path = CLI_DB_PATH_DEFAULT};
        return finish(command->run(&ctx, argc - skip, argv + skip));
    }
    if (group_exists(group)) {
        if (argc >= 3 && is_help(argv[2])) {
            print_group(group, stdout);
            return finish(CLI_EXIT_OK);
        }
        if (argc < 3)
            cli_report(TOPUP_E_INVALID_ARGUMENT, "'topup %s' needs a verb.", group);
        else
            cli_report(TOPUP_E_INVALID_ARGUMENT, "'topup %s' has no verb '%s'.", group, argv[2]);
        print_group(group, stderr);
        return CLI_EXIT_USAGE;
    }
    cli_report(TOPUP_E_INVALID_ARGUMENT,
               "There is no command '%s'; run 'topup --help' for the list.", group);
    return CLI_EXIT_USAGE;
}
