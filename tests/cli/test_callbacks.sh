#!/usr/bin/env bash
# The checks are conditions passed to eval in single quotes on purpose: they expand when run.
# shellcheck disable=SC2016
# Tests of `topup callbacks`: what an operator relies on when a merchant says it got no callback
# (list with its filters, show with the body and every attempt, retry of a dead one), bad input
# refused naming the option, and a delivered callback never queued again.
# Usage: tests/cli/test_callbacks.sh BUILD_DIR
set -u

build_dir=${1:?usage: test_callbacks.sh BUILD_DIR}
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"
json() { jq -e "$1" "$work/out" >/dev/null; }
sql() { sqlite3 -cmd 'PRAGMA foreign_keys = ON' "$db" "$1"; }

"$topup" init --db "$db" >/dev/null
"$topup" merchant add --id jd-store-7 --name "JD store 7" --currency CNY --db "$db" >/dev/null

# ---- refusals, before there is any callback ----
run callbacks list --status bogus
check "an unknown status is refused naming the option" eval 'status_is 2 && err_has "\-\-status"'
run callbacks list --merchant "Bad Id"
check "a malformed merchant id is refused" eval 'status_is 2 && err_has "\-\-merchant"'
run callbacks list --limit 0
check "a limit of 0 is refused" eval 'status_is 2 && err_has "\-\-limit"'
run callbacks show
check "show without --id is refused" eval 'status_is 2 && err_has "\-\-id"'
run callbacks show --id abc
check "a malformed id is refused" eval 'status_is 2 && err_has "\-\-id"'
run callbacks show --id 1
check "show of an unknown id says there is none" eval 'status_is 1 && err_has "no callback 1"'
run callbacks retry --id 1
check "retry of an unknown id says there is none" eval 'status_is 1 && err_has "no callback 1"'
run callbacks list
check "an empty outbox lists nothing" eval 'status_is 0 && out_has "no callbacks"'
run callbacks list --json
check "an empty outbox as JSON" eval 'status_is 0 && json ".callbacks == []"'

# ---- one callback that failed twice and was given up ----
sql "INSERT INTO orders(id, channel, msisdn, operator_id, product_id, face_minor, price_minor,
       currency, funding_account_id, status, created_at, updated_at)
     SELECT 7351, 'partner', '+8613800138000', 'cmcc', 'cmcc-50', 5000, 4925, 'CNY',
       float_account_id, 'succeeded', 1795600000, 1795600000 FROM merchants WHERE id = 'jd-store-7';
     INSERT INTO partner_callbacks(id, order_id, merchant_id, url, body, status, attempt_count,
       next_attempt_at, last_error, created_at, updated_at)
     VALUES (1, 7351, 'jd-store-7', 'https://shop.example/topup/cb?v=1',
       '{\"event\":\"order.succeeded\",\"order\":{\"order_id\":\"7351\"}}', 'dead', 2, NULL,
       'no answer: Connection refused', 1795600000, 1795686400);
     INSERT INTO callback_attempts(callback_id, attempted_at, http_status, error, duration_ms)
     VALUES (1, 1795600000, 500, 'HTTP 500: boom', 12),
            (1, 1795600015, NULL, 'no answer: Connection refused', 3);"

run callbacks list
check "list shows the callback's order, merchant, status and URL" eval 'status_is 0 && out_has "7351" && out_has "jd-store-7" && out_has "dead" && out_has "https://shop.example/topup/cb?v=1"'
run callbacks list --status dead --merchant jd-store-7 --json
check "list filters by status and merchant" eval 'status_is 0 && json ".callbacks | length == 1" && json ".callbacks[0].attempts == 2 and .callbacks[0].next_attempt_at == null"'
run callbacks list --status queued --json
check "another status lists nothing" eval 'status_is 0 && json ".callbacks == []"'
run callbacks list --merchant tb-1 --json
check "another merchant lists nothing" eval 'status_is 0 && json ".callbacks == []"'

run callbacks show --id 1
check "show prints the body and every attempt" eval 'status_is 0 && out_has "order.succeeded" && out_has "HTTP 500" && out_has "no answer: Connection refused" && out_has "12 ms"'
run callbacks show --id 1 --json
check "show as JSON has the body and the attempts in order" eval 'status_is 0 && json ".body.event == \"order.succeeded\" and (.attempt_history | length) == 2 and .attempt_history[0].http_status == 500 and .attempt_history[1].http_status == null"'

run callbacks retry --id 1
check "a dead callback is queued again" eval 'status_is 0 && out_has "queued again"'
run callbacks show --id 1 --json
now=$(date +%s)
check "it is due now and keeps its history" eval 'status_is 0 && json ".status == \"queued\" and .attempts == 2 and (.next_attempt_at | fromdateiso8601) >= $now - 5 and (.attempt_history | length) == 2"'
run callbacks retry --id 1
check "a queued callback may be retried again" eval 'status_is 0'

sql "UPDATE partner_callbacks SET status = 'delivered', next_attempt_at = NULL WHERE id = 1"
run callbacks retry --id 1
check "a delivered callback is never sent again" eval 'status_is 1 && err_has "delivered"'
run callbacks show --id 1 --json
check "and stays delivered" eval 'status_is 0 && json ".status == \"delivered\" and .next_attempt_at == null"'

echo "callbacks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
