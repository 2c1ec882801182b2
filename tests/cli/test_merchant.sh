#!/usr/bin/env bash
# The checks are conditions passed to eval in single quotes on purpose: they expand when run.
# shellcheck disable=SC2016
# Tests of `topup merchant`: what an operator relies on when setting up a partner (the secret
# shown once, the float moved only by ledger transfers and never below the credit limit, prices
# and status kept, bad input refused naming the option, the ledger balanced).
# Usage: tests/cli/test_merchant.sh BUILD_DIR
set -u

build_dir=${1:?usage: test_merchant.sh BUILD_DIR}
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"
json() { jq -e "$1" "$work/out" >/dev/null; }

"$topup" init --demo --db "$db" >/dev/null

run merchant add --id jd-store-7 --name "京东 store 7" --currency CNY --credit-limit 100.00 --json
check "add prints the 64-hex secret once" eval 'status_is 0 && json ".secret | test(\"^[0-9a-f]{64}$\")"'
secret=$(jq -r .secret "$work/out")
run merchant show --id jd-store-7 --json
check "show never prints the secret" eval 'status_is 0 && ! grep -q "$secret" "$work/out" && json ".float_minor == 0 and .credit_limit == \"100.00\""'

run merchant add --id jd-store-7 --name again --currency CNY
check "a taken id is refused" eval 'status_is 1 && err_has "already a merchant"'
run merchant add --id "Bad Id" --name x --currency CNY
check "a malformed id is refused before anything is written" eval 'status_is 2 && err_has "\-\-id"'
run merchant add --id m2 --name x --currency XYZ
check "an unknown currency is refused" eval 'status_is 2 && err_has "currency_unknown"'

run merchant topup-float --id jd-store-7 --amount 500.00 --json
check "a deposit raises the float" eval 'status_is 0 && json ".float_minor == 50000"'
run merchant topup-float --id jd-store-7 --amount -650.00
check "taking back more than float + credit limit is refused" eval 'status_is 1 && err_has "credit limit"'
run merchant topup-float --id jd-store-7 --amount -600.00 --json
check "taking back down to the credit limit is allowed" eval 'status_is 0 && json ".float_minor == -10000"'
run merchant topup-float --id jd-store-7 --amount 0.001
check "an amount with too many decimals is refused" eval 'status_is 2 && err_has "amount"'
run merchant topup-float --id nobody --amount 1.00
check "an unknown merchant is refused" eval 'status_is 1 && err_has "no merchant"'

run merchant price --id jd-store-7 --operator cmcc --percent 98.50
check "an operator price is set" eval 'status_is 0 && out_has "operator:cmcc at 98.50%"'
run merchant price --id jd-store-7 --operator cmcc --product cmcc-50 --percent 98
check "operator and product together are refused" eval 'status_is 2'
run merchant price --id jd-store-7 --product cmcc-50 --percent 250
check "a price above 200% is refused" eval 'status_is 2 && err_has "percent"'

run merchant suspend --id jd-store-7
check "suspend" eval 'status_is 0'
run merchant list --json
check "list shows the status and the float" eval 'status_is 0 && json ".merchants[0].status == \"suspended\" and .merchants[0].float == \"-100.00\""'
run merchant activate --id jd-store-7
check "activate" eval 'status_is 0'

run verify
check "verify is OK: the float moved only by balanced transfers" eval 'status_is 0'

echo "merchant: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
