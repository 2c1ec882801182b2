#!/usr/bin/env bash
# The checks are conditions passed to eval in single quotes on purpose: they expand when run.
# shellcheck disable=SC2016
# Tests of `topup reconcile` against a fresh database: what an operator relies on when matching a
# provider's daily trade bill (exit codes, each exception listed with what differs, the clearing
# difference, a broken bill refused whole with its file and line named, the database untouched).
#
# The bills are built by tests/fixtures/bills/make_bills.py in the providers' layouts (Alipay: a
# zip of GBK CSV with GBK entry names; WeChat Pay: backticked CSV with its summary). The payments
# and refunds they are matched against are written straight into the payments and refunds tables
# (schema migration 2) for orders made with `topup recharge`, so that each case is exactly the
# one wanted.
# Usage: tests/cli/test_reconcile.sh BUILD_DIR
set -u

build_dir=${1:?usage: test_reconcile.sh BUILD_DIR}
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"
make_bills="$(cd "$(dirname "$0")/../fixtures/bills" && pwd)/make_bills.py"
json() { jq -e "$1" "$work/out" >/dev/null; }

# bill PROVIDER NAME ARGS...: builds a bill into $work/NAME.
bill() {
    local provider=$1 name=$2
    shift 2
    python3 "$make_bills" "$provider" "$work/$name" "$@" || { echo "make_bills.py failed"; exit 1; }
}

sql() { sqlite3 -bail "$db" "$@"; }

# The bills' day, 2026-11-24 in UTC+8, starts at this unix second.
day=1795449600

# ---- the database: orders from recharges, payments and refunds against them ----

run init --demo
check "init --demo for the reconciliation tests" status_is 0
check "the schema has the payments and refunds tables (migration 2)" \
    eval '[ "$(sql "SELECT count(*) FROM sqlite_master WHERE name IN ('"'"'payments'"'"', '"'"'refunds'"'"')")" = 2 ]'
for _ in 1 2 3 4 5 6 7 8; do
    "$topup" recharge --msisdn 13800138000 --product cmcc-50 --db "$db" >/dev/null 2>&1
done
mapfile -t orders < <(sql "SELECT id FROM orders ORDER BY id")
check "eight orders to hang payments on" [ "${#orders[@]}" -eq 8 ]
if [ "$failed" -ne 0 ]; then
    echo "reconcile: $passed passed, $failed failed (the database could not be set up; stopped)"
    exit 1
fi

# payment N PROVIDER OUT_TRADE_NO AMOUNT_MINOR STATUS PAID_AT [PAID_MINOR]: a payment for order N
# (0-based); PAID_MINOR (default AMOUNT_MINOR) is what the provider said was paid.
payment() {
    local paid_minor=${7:-$4} paid_at=$6
    if [ "$5" != paid ]; then paid_minor=0; paid_at=NULL; fi
    sql "INSERT INTO payments(order_id, provider, method, out_trade_no, trade_no, amount_minor,
             currency, validity_days, status, paid_minor, expires_at, paid_at, created_at,
             updated_at)
         VALUES (${orders[$1]}, '$2', 'qr', '$3', NULL, $4, 'CNY', 30, '$5', $paid_minor,
                 $((day + 86400)), $paid_at, $day, $day)"
}

# refund OUT_TRADE_NO OUT_REQUEST_NO AMOUNT_MINOR STATUS UPDATED_AT
refund() {
    sql "INSERT INTO refunds(payment_id, out_request_no, amount_minor, currency, reason, status,
             created_at, updated_at)
         SELECT id, '$2', $3, 'CNY', 'order closed', '$4', $5, $5 FROM payments
         WHERE out_trade_no = '$1'"
}

payment 0 alipay A1001 5000 paid $((day + 36005))   # 10:00:05
payment 1 alipay A1002 10000 paid $((day + 41400))  # 11:30:00
refund A1002 RA2001 10000 succeeded $((day + 54000)) # 15:00:00
payment 2 wechat W1001 5000 paid $((day + 36000))
payment 3 wechat W1002 2000 paid $((day + 40000))
refund W1002 RW2001 2000 succeeded $((day + 50000))
payment 4 alipay A0999 5000 paid $((day - 60))      # the day before: not in the period

# ---- a bill that agrees with topup ----

bill alipay alipay-good.zip pay:A1001:50.00:10:00:05 pay:A1002:100.00:11:30:00 \
    refund:A1002:RA2001:100.00
db_dump_before=$(sql .dump | sha256sum)
run reconcile alipay "$work/alipay-good.zip"
check "an Alipay bill that agrees exits 0" status_is 0
check "it reports every line matched and a zero clearing difference" \
    eval 'out_has "matched *3 " && out_has "difference (bill net - topup net): 0.00" &&
          out_has "Everything matched"'
check "it states the period the bill's header gives, in UTC+8" \
    eval 'out_has "Period: 2026-11-24T00:00:00+08:00 to 2026-11-25T00:00:00+08:00"'
run reconcile alipay "$work/alipay-good.zip" --json
check "--json gives the report as one object" \
    eval 'status_is 0 && json ".provider == \"alipay\" and .matched == 3 and .currency == \"CNY\" and
          .clearing_difference == \"0.00\" and .missing_in_topup == [] and
          .missing_at_provider == [] and .amount_mismatch == [] and .status_mismatch == [] and
          .period.from == \"2026-11-24T00:00:00+08:00\" and .period.to == \"2026-11-25T00:00:00+08:00\""'
check "--json totals give both sides' payments, refunds and nets" \
    eval 'json ".totals.bill.payments == \"150.00\" and .totals.bill.refunds == \"100.00\" and
          .totals.bill.net == \"50.00\" and .totals.topup.payments == \"150.00\" and
          .totals.topup.payment_count == 2 and .totals.topup.net == \"50.00\""'
check "reconciling only reads: the database's content is unchanged" \
    [ "$(sql .dump | sha256sum)" = "$db_dump_before" ]

# ---- a bill with every kind of exception ----

payment 5 alipay A1003 3000 paid $((day + 50000))   # paid in topup, absent from the bill
payment 6 alipay A1004 2000 unknown 0               # the provider took it; topup does not know
payment 7 alipay A1005 5000 paid $((day + 60000)) 4000 # topup recorded 40.00 paid for 50.00
bill alipay alipay-exceptions.zip pay:A1001:50.00 pay:A1002:99.00 pay:A9999:10.00 \
    pay:A1004:20.00 pay:W1001:50.00 pay:A1005:40.00
run reconcile alipay "$work/alipay-exceptions.zip" --json
check "a bill with exceptions exits 1" status_is 1
check "the payment topup does not have is missing_in_topup, with its bill line" \
    eval 'json ".missing_in_topup | length == 1 and .[0].out_trade_no == \"A9999\" and
          .[0].line == 8 and .[0].bill_amount == \"10.00\" and .[0].topup_amount == null"'
check "an amount that differs from what topup recorded paid is an amount_mismatch" \
    eval 'json ".amount_mismatch[0] | .out_trade_no == \"A1002\" and .bill_amount == \"99.00\" and
          .topup_amount == \"100.00\" and .detail == \"the bill says 99.00, topup recorded 100.00.\""'
check "a payment that agrees with topup's record but not with the order's price is one too" \
    eval 'json ".amount_mismatch | length == 2 and (.[1] | .out_trade_no == \"A1005\" and
          .bill_amount == \"40.00\" and .topup_amount == \"40.00\" and
          (.detail | test(\"order.s price is 50.00\")))"'
check "a payment topup holds as unknown, or under another provider, is a status_mismatch" \
    eval 'json "[.status_mismatch[] | .out_trade_no] == [\"A1004\", \"W1001\"] and
          .status_mismatch[0].topup_status == \"unknown\" and
          (.status_mismatch[1].detail | test(\"wechat\"))"'
check "topup's paid payment and succeeded refund absent from the bill are missing_at_provider" \
    eval 'json "[.missing_at_provider[] | [.kind, .out_trade_no]] ==
          [[\"payment\", \"A1003\"], [\"refund\", \"A1002\"]] and
          .missing_at_provider[1].out_request_no == \"RA2001\" and
          .missing_at_provider[0].line == null"'
check "a payment paid before the period is not expected in the bill" \
    eval '! grep -q A0999 "$work/out"'
check "the clearing difference is the bill's net minus topup's: 269.00 - 120.00" \
    eval 'json ".matched == 1 and .totals.bill.net == \"269.00\" and .totals.topup.net == \"120.00\" and
          .clearing_difference == \"149.00\""'
run reconcile alipay "$work/alipay-exceptions.zip"
check "the readable report lists each exception with its line, amounts and what differs" \
    eval 'status_is 1 && out_has "missing_in_topup .*payment .*line 8 .*A9999.*bill 10.00" &&
          out_has "amount_mismatch .*A1002.*bill 99.00 topup CNY 100.00 (paid)" &&
          out_has "missing_at_provider .*refund .*A1002 out_request_no RA2001" &&
          out_has "difference (bill net - topup net): 149.00"'

# ---- WeChat Pay ----

bill wechat wechat-good.csv pay:W1001:50.00:10:00:00 pay:W1002:20.00:11:06:40 \
    refund:W1002:RW2001:20.00:13:53:20
run reconcile wechat "$work/wechat-good.csv" --json
check "a WeChat Pay bill that agrees exits 0; its period is the day of its payments" \
    eval 'status_is 0 && json ".provider == \"wechat\" and .matched == 3 and
          .clearing_difference == \"0.00\" and .period.from == \"2026-11-24T00:00:00+08:00\""'
bill wechat wechat-refund-wrong.csv pay:W1001:50.00 pay:W1002:20.00 refund:W1002:RW9999:20.00
run reconcile wechat "$work/wechat-refund-wrong.csv" --json
check "a refund under another out_request_no is missing in topup, and topup's at the provider" \
    eval 'status_is 1 && json ".missing_in_topup[0].out_request_no == \"RW9999\" and
          .missing_at_provider[0].out_request_no == \"RW2001\" and .clearing_difference == \"0.00\""'
bill wechat wechat-refunds-only.csv refund:W1002:RW2001:20.00
run reconcile wechat "$work/wechat-refunds-only.csv"
check "a bill that cannot tell its day needs --date (exit 2)" \
    eval 'status_is 2 && err_has "wechat-refunds-only.csv" && err_has "\-\-date" && [ ! -s "$work/out" ]'
run reconcile wechat "$work/wechat-refunds-only.csv" --date 2026-11-24 --json
check "--date gives the day: topup's payments of that day are then missing at the provider" \
    eval 'status_is 1 && json ".matched == 1 and (.missing_at_provider | length) == 2 and
          .period.from == \"2026-11-24T00:00:00+08:00\""'

# ---- bills refused whole, naming the file and the line ----

bill alipay alipay-bad-amount.zip pay:A1001:50.00 pay:A1002:100.00 --bad-amount 2
run reconcile alipay "$work/alipay-bad-amount.zip"
check "a malformed amount refuses the Alipay bill (exit 2) naming zip, member and line" \
    eval 'status_is 2 && err_has "alipay-bad-amount.zip:20880000000000000156_20261124_业务明细.csv:7:" &&
          err_has "订单金额（元） '"'"'1.234'"'"'" && err_has "Nothing was reconciled" &&
          [ ! -s "$work/out" ]'
bill alipay alipay-not-gbk.zip pay:A1001:50.00 pay:A1002:100.00 --not-gbk 2
run reconcile alipay "$work/alipay-not-gbk.zip"
check "a byte that is not GBK refuses the bill, naming its line" \
    eval 'status_is 2 && err_has "业务明细.csv:7: byte 0xFF" && err_has "not valid GBK"'
bill alipay alipay-no-detail.zip pay:A1001:50.00 --no-detail
run reconcile alipay "$work/alipay-no-detail.zip" --json
check "a zip without the business detail file is refused, listing what it holds" \
    eval 'status_is 2 && err_has "no business detail file" && err_has "业务明细(汇总).csv" &&
          [ ! -s "$work/out" ]'
run reconcile alipay "$work/wechat-good.csv"
check "a WeChat Pay CSV given as an Alipay bill is refused: not a zip" \
    eval 'status_is 2 && err_has "not a zip archive"'
bill wechat wechat-truncated.csv pay:W1001:50.00 pay:W1002:20.00 --summary-count 3
run reconcile wechat "$work/wechat-truncated.csv"
check "a WeChat Pay bill whose summary disagrees with its lines is refused, naming the line" \
    eval 'status_is 2 && err_has "wechat-truncated.csv:5: 总交易单数 is 3 but the bill has 2"'
bill wechat wechat-cut.csv pay:W1001:50.00 pay:W1002:20.00 --no-summary
run reconcile wechat "$work/wechat-cut.csv"
check "a WeChat Pay bill cut before its summary is refused as truncated" \
    eval 'status_is 2 && err_has "truncated"'
bill wechat wechat-bad-amount.csv pay:W1001:50.00 pay:W1002:20.00 --bad-amount 1
run reconcile wechat "$work/wechat-bad-amount.csv"
check "a malformed WeChat Pay amount is refused, naming the line" \
    eval 'status_is 2 && err_has "wechat-bad-amount.csv:2: 应结订单金额 '"'"'1.234'"'"'"'

# ---- the command line ----

run reconcile paypal "$work/alipay-good.zip"
check "an unknown provider is a usage error" eval 'status_is 2 && err_has "paypal"'
run reconcile alipay
check "a missing bill file argument is a usage error" eval 'status_is 2 && err_has "bill file"'
run reconcile alipay "$work/nowhere.zip"
check "a bill that cannot be opened is named (exit 2)" \
    eval 'status_is 2 && err_has "nowhere.zip: cannot open it"'
run reconcile alipay "$work/alipay-good.zip" --date 2026-02-30
check "a --date that is no day is refused" eval 'status_is 2 && err_has "2026-02-30"'
"$topup" reconcile alipay "$work/alipay-good.zip" --db "$work/nowhere.db" >"$work/out" 2>"$work/err"
status=$?
check "a missing database reconciles nothing (exit 2) and says to run init" \
    eval 'status_is 2 && err_has "topup init"'
run reconcile --help
check "reconcile --help exits 0 with usage on stdout" eval 'status_is 0 && out_has "^Usage: topup reconcile"'

echo "reconcile: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
