#!/usr/bin/env bash
# The checks are conditions passed to eval in single quotes on purpose: they expand when run.
# shellcheck disable=SC2016,SC2034
# Tests of the `topup` command line against a fresh database: what an operator relies on
# (exit codes, messages naming what was wrong, nothing half-applied, the ledger staying balanced).
# Usage: tests/cli/test_cli.sh BUILD_DIR
set -u

build_dir=${1:?usage: test_cli.sh BUILD_DIR}
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"

# balance_minor NUMBER: the subscriber's balance in minor units, or "none".
balance_minor() {
    local json
    json=$("$topup" balance --msisdn "$1" --json --db "$db" 2>/dev/null)
    if [ -n "$json" ]; then jq -r '.balance_minor' <<<"$json"; else echo none; fi
}

order_count() {
    "$topup" history --msisdn "$1" --json --db "$db" | jq '.orders | length'
}

# ---- init and verify ----

run init --demo
check "init --demo exits 0" status_is 0
check "init --demo says the data is DEMO data" out_has "DEMO"
check "init --demo created the database and its directory" test -f "$db"
run verify
check "verify after init --demo is OK" eval 'status_is 0 && out_has "^verify: OK"'
run init
check "init refuses an existing database (exit 1, points at migrate)" \
    eval 'status_is 1 && err_has "already_exists" && err_has "migrate"'
run migrate
check "migrate on a current database changes nothing and says so" \
    eval 'status_is 0 && out_has "already at schema version"'

# ---- API keys ----

run apikey create --name shop1 --scope recharge,read
key=$(tail -n 1 "$work/out")
check "apikey create prints a tk_ key alone as the last line" \
    eval 'status_is 0 && [[ "$key" =~ ^tk_[0-9a-f]{64}$ ]]'
run apikey list
check "apikey list shows the key's name" eval 'status_is 0 && out_has "shop1"'
check "apikey list never shows the secret" eval '! grep -q "$key" "$work/out" && ! out_has "tk_"'
run apikey list --json
check "apikey list --json never shows the secret" \
    eval 'status_is 0 && jq -e ".api_keys[0].name == \"shop1\"" "$work/out" >/dev/null && ! out_has "tk_"'
run apikey create --name shop2 --scope read --json
check "apikey create --json gives name, scopes, funding_account and key" \
    eval 'status_is 0 && jq -e ".key | test(\"^tk_[0-9a-f]{64}$\")" "$work/out" >/dev/null &&
          jq -e ".funding_account == \"clearing:shop2\" and .scopes == \"read\"" "$work/out" >/dev/null'
run apikey create --name shop1 --scope read
check "apikey create refuses a name in use" eval 'status_is 1 && err_has "already_exists"'
run apikey create --name shop3 --scope recharge,write
check "apikey create refuses an unknown scope, naming it" eval 'status_is 2 && err_has "write"'
run apikey revoke --name shop2
check "apikey revoke exits 0" eval 'status_is 0 && out_has "revoked"'
run apikey list --json
check "a revoked key is listed as revoked" \
    eval 'jq -e ".api_keys[] | select(.name == \"shop2\") | .revoked_at != null" "$work/out" >/dev/null'
run apikey revoke --name shop2
check "revoking a revoked key is refused" eval 'status_is 1 && err_has "not_found"'

# ---- recharge, balance, history ----

run recharge --msisdn 13800138000 --product cmcc-50
check "recharge by product exits 0 and reports the new balance" \
    eval 'status_is 0 && out_has "Recharged +8613800138000 with CNY 50.00" && out_has "balance CNY 50.00"'
check "balance after the product recharge is CNY 50.00" [ "$(balance_minor 13800138000)" = 5000 ]
run recharge --msisdn "+86 138-0013-8000" --amount 100.00 --json
check "recharge by amount --json prints the order" \
    eval 'status_is 0 && jq -e ".status == \"succeeded\" and .amount_minor == 10000 and .product == \"cmcc-100\"" "$work/out" >/dev/null'
check "balance after the amount recharge is CNY 150.00" [ "$(balance_minor 13800138000)" = 15000 ]
run balance --msisdn 13800138000
check "balance shows status, money and validity" \
    eval 'status_is 0 && out_has "active" && out_has "CNY 150.00" && out_has "valid until: 20"'
check "history lists both recharges" [ "$(order_count 13800138000)" = 2 ]
run history --msisdn 13800138000
check "history is newest first" \
    eval 'status_is 0 && [ "$(grep -o "cmcc-[0-9]*" "$work/out" | head -1)" = cmcc-100 ]'
run recharge --msisdn 13800138000 --product cmcc-custom --amount 123.00
check "a range product recharges the amount given" \
    eval 'status_is 0 && [ "$(balance_minor 13800138000)" = 27300 ]'
run recharge --msisdn 13800138000 --amount 7.77
check "an amount no product offers is refused and changes nothing" \
    eval 'status_is 1 && err_has "amount_not_offered" && [ "$(balance_minor 13800138000)" = 27300 ]'
run recharge --msisdn 13800138000 --product cucc-50
check "another operator's product is refused" eval 'status_is 1 && err_has "product_unknown"'
run recharge --msisdn 12345 --product cmcc-50
check "an invalid number is refused, naming it" eval 'status_is 1 && err_has "invalid_number" && err_has "12345"'
run recharge --msisdn 13800138000 --amount 50 --currency PHP
check "a currency other than the operator's is refused" eval 'status_is 1 && err_has "currency_mismatch"'

# ---- idempotency ----

before=$(balance_minor 13800138000)
expected=unknown
if [[ $before =~ ^[0-9]+$ ]]; then expected=$((before + 2000)); fi
run recharge --msisdn 13800138000 --product cmcc-20 --key order-42
check "the first recharge with --key succeeds" eval 'status_is 0 && out_has "Recharged"'
run recharge --msisdn 008613800138000 --product cmcc-20 --key order-42 --country CN
check "the same recharge with the same --key succeeds again" eval 'status_is 0 && out_has "stored answer"'
check "the same --key twice credits once" [ "$(balance_minor 13800138000)" = "$expected" ]
run recharge --msisdn 13800138000 --product cmcc-30 --key order-42
check "the same --key with another recharge is refused" \
    eval 'status_is 1 && err_has "idempotency_key_reused" && [ "$(balance_minor 13800138000)" = "$expected" ]'

# ---- subscriber import ----

cat >"$work/good.csv" <<'EOF'
msisdn,status,balance,valid_until
13900139000,closed,,
+86 135 0013 5000,active,12.50,2027-01-01
13600136000,suspended,0,
EOF
run subscribers import "$work/good.csv"
check "import of a good file imports every line" eval 'status_is 0 && out_has "Imported 3 subscribers"'
check "an opening balance is credited" [ "$(balance_minor 13500135000)" = 1250 ]
run recharge --msisdn 13900139000 --product cmcc-50
check "a recharge of a closed subscriber is refused" eval 'status_is 1 && err_has "subscriber_closed"'
check "the refused recharge left no order" [ "$(order_count 13900139000)" = 0 ]
run recharge --msisdn 13600136000 --product cmcc-10
check "a suspended subscriber can be recharged back" eval 'status_is 0 && [ "$(balance_minor 13600136000)" = 1000 ]'

# ---- subscriber status ----

run subscribers set-status --msisdn 13600136000 --status closed
check "set-status closes a number and says what it was" \
    eval 'status_is 0 && out_has "+8613600136000: suspended -> closed"'
run recharge --msisdn 13600136000 --product cmcc-10
check "a number closed by set-status is refused and keeps its balance" \
    eval 'status_is 1 && err_has "subscriber_closed" && [ "$(balance_minor 13600136000)" = 1000 ]'
run subscribers set-status --msisdn 13600136000 --status active
run recharge --msisdn 13600136000 --product cmcc-10
check "a reactivated number can be recharged again" \
    eval 'status_is 0 && [ "$(balance_minor 13600136000)" = 2000 ]'
run subscribers set-status --msisdn 13600136000 --status gone
check "set-status refuses an unknown status (exit 2) and names it" \
    eval 'status_is 2 && err_has "gone"'
run subscribers set-status --msisdn 13100131000 --status closed
check "set-status of a number that is no subscriber fails (exit 1)" \
    eval 'status_is 1 && err_has "not_found"'

cat >"$work/bad.csv" <<'EOF'
msisdn,status,balance,valid_until
13700137000,active,5.00,
18800188000,active,,
13100131000,frozen,,
EOF
run subscribers import "$work/bad.csv"
check "import with one bad line exits 1 and names FILE:LINE" \
    eval 'status_is 1 && err_has "bad.csv:4:" && err_has "frozen"'
check "import with one bad line names only that line" eval '[ "$(grep -c "bad.csv:[0-9]*:" "$work/err")" = 1 ]'
check "import with one bad line imports nothing" \
    eval '[ "$(balance_minor 13700137000)" = none ] && [ "$(balance_minor 18800188000)" = none ]'

cat >"$work/worse.csv" <<'EOF'
msisdn,status
13700137000,active
13700137000,active
13800138000,active
12345,active
14000000000,active
EOF
run subscribers import "$work/worse.csv"
check "import names a duplicate, an existing subscriber and bad numbers, line by line" \
    eval 'status_is 1 && err_has "worse.csv:3:.*line 2" && err_has "worse.csv:4:.*already a subscriber" &&
          err_has "worse.csv:5:.*invalid_number" && err_has "worse.csv:6:.*unknown_operator"'
printf 'number,state\n13700137000,active\n' >"$work/header.csv"
run subscribers import "$work/header.csv"
check "import refuses a wrong header" eval 'status_is 1 && err_has "header.csv:1:"'
{ echo "msisdn,status"; printf '13700137000,active,%01100d\n' 0; } >"$work/long.csv"
run subscribers import "$work/long.csv"
check "import refuses a line longer than 1 KiB" eval 'status_is 1 && err_has "long.csv:2:.*longer"'
truncate -s 65M "$work/huge.csv"
run subscribers import "$work/huge.csv"
check "import refuses a file larger than 64 MiB" eval 'status_is 1 && err_has "64 MiB"'
rm -f "$work/huge.csv"

# ---- catalog commands ----

run operator add --id "Bad!" --name X --country CN --currency CNY
check "operator add with a bad id exits 2 naming --id" eval 'status_is 2 && err_has "\-\-id" && err_has "Bad!"'
run operator add --id mvno1 --name "Example MVNO" --country CN --currency CNY
check "operator add of a good operator exits 0" eval 'status_is 0 && out_has "mvno1"'
run operator add --id mvno1 --name "Example MVNO" --country CN --currency CNY
check "operator add refuses a duplicate" eval 'status_is 1 && err_has "already_exists"'
run operator add --id mvno2 --name X --country FR --currency EUR
check "operator add needs a number plan for its country" eval 'status_is 1 && err_has "plan set"'
run product add --id mvno1-50 --operator mvno1 --face 50.001 --validity-days 30
check "product add --face 50.001 exits 2 with amount_format" eval 'status_is 2 && err_has "amount_format" && err_has "50.001"'
run product add --id mvno1-50 --operator mvno1 --face 50.00 --price 49.80 --validity-days 30
check "product add of a fixed product exits 0" eval 'status_is 0 && out_has "CNY 49.80"'
run product add --id mvno1-any --operator mvno1 --min 10.00 --max 500.00 --step 1.00 --price-percent 99.50 --validity-days 30
check "product add of a range product exits 0" eval 'status_is 0 && out_has "99.50%"'
run product list --operator mvno1 --json
check "product list shows both products with minor units and basis points" \
    eval 'jq -e "(.products | length) == 2 and .products[1].price_basis_points == 9950 and .products[0].face_minor == 5000 and .products[0].price_minor == 4980" "$work/out" >/dev/null'
run product add --id mvno1-x --operator mvno1 --face 50 --min 10 --validity-days 30
check "product add refuses a fixed and a range product at once" status_is 2
run range add --prefix 86x --operator mvno1
check "range add --prefix 86x exits 2 naming --prefix" eval 'status_is 2 && err_has "\-\-prefix" && err_has "86x"'
run range add --prefix +861700 --operator mvno1
check "range add of a good range exits 0" eval 'status_is 0 && out_has "+861700"'
run range add --prefix 63999 --operator mvno1
check "range add refuses a prefix of another country" eval 'status_is 1 && err_has "+86"'
run recharge --msisdn 17000000001 --amount 50.00
check "a number in the new range recharges through the new operator" \
    eval 'status_is 0 && out_has "order" && "$topup" history --msisdn 17000000001 --json --db "$db" | jq -e ".orders[0].operator == \"mvno1\"" >/dev/null'
run range add --prefix 8617000001 --operator cucc
check "a longer range of another operator is accepted" status_is 0
run recharge --msisdn 17000001234 --amount 50.00
check "the longest matching range wins: a number in the sub-range goes to its operator" \
    eval 'status_is 0 && "$topup" history --msisdn 17000001234 --json --db "$db" | jq -e ".orders[0].operator == \"cucc\"" >/dev/null'
run recharge --msisdn 17000002000 --amount 50.00
check "a number outside the sub-range stays with the shorter range's operator" \
    eval 'status_is 0 && "$topup" history --msisdn 17000002000 --json --db "$db" | jq -e ".orders[0].operator == \"mvno1\"" >/dev/null'
run range add --prefix 861700000200 --operator cucc
check "range add refuses to take numbers of another operator's subscribers, and says how many" \
    eval 'status_is 1 && err_has "1 subscriber(s) of other operators" && err_has "portability set"'
run recharge --msisdn 17000002000 --amount 50.00
check "the refused range changed nothing: the subscriber still recharges through its operator" \
    eval 'status_is 0 && "$topup" history --msisdn 17000002000 --json --db "$db" | jq -e ".orders[0].operator == \"mvno1\"" >/dev/null'
run range add --prefix 861700000200 --operator cucc --force
check "range add --force moves the block" status_is 0
run recharge --msisdn 17000002000 --amount 50.00
check "after the forced move the number recharges through the new operator" \
    eval 'status_is 0 && "$topup" history --msisdn 17000002000 --json --db "$db" | jq -e ".orders[0].operator == \"cucc\"" >/dev/null'
run range add --prefix 861700000012345 --operator cucc
check "range add refuses a prefix longer than any number of the plan" \
    eval 'status_is 1 && err_has "longer than any CN number"'
run product add --id mvno1-dear --operator mvno1 --face 10 --price 100.01 --validity-days 30
check "product add refuses a price over 1000% of the face" eval 'status_is 2 && err_has "1000%"'
run product add --id mvno1-free --operator mvno1 --min 0.01 --max 1.00 --step 0.01 --price-percent 0.01 --validity-days 30
check "product add refuses a range whose cheapest face prices to nothing" \
    eval 'status_is 2 && err_has "rounds to nothing"'
run recharge --msisdn 13800138000 --amount 10 --msisdn 13900139555
check "a repeated option is refused, not overridden (exit 2, names it, credits nobody)" \
    eval 'status_is 2 && err_has "msisdn is given twice" && [ "$(balance_minor 13900139555)" = none ]'
run verify
check "verify is OK after the catalog changes" eval 'status_is 0 && out_has "^verify: OK"'
run portability set --msisdn 13800138001 --operator cucc
check "portability set exits 0" eval 'status_is 0 && out_has "cucc"'
run recharge --msisdn 13800138001 --product cucc-10
check "a ported number takes its new operator's products" eval 'status_is 0 && out_has "cucc-10"'
run portability set --msisdn 13800138001 --operator globe
check "portability refuses an operator of another country" status_is 1
run plan set --country FR --calling-code 33 --trunk-prefix 0 --nsn-min 9 --nsn-max 9 --mobile-prefixes 6,7
check "plan set of a new country exits 0" eval 'status_is 0 && out_has "FR"'
run plan set --country XX --calling-code 86 --nsn-min 9 --nsn-max 9
check "plan set refuses a calling code another country has" eval 'status_is 1 && err_has "CN"'
run operator list --json
check "operator list shows the demo operators and the new one" \
    eval 'jq -e "[.operators[].id] == [\"cmcc\",\"ctcc\",\"cucc\",\"globe\",\"mvno1\"]" "$work/out" >/dev/null'

# ---- usage errors ----

run recharge --msisdn 13800138000
check "recharge without --product or --amount is a usage error" status_is 2
run recharge --msisdn 13800138000 --amount 1 --bogus
check "an unknown option is a usage error naming it" eval 'status_is 2 && err_has "\-\-bogus"'
run balance
check "a missing required option is a usage error naming it" eval 'status_is 2 && err_has "\-\-msisdn"'
"$topup" frobnicate >"$work/out" 2>"$work/err"
status=$?
check "an unknown command is a usage error" eval 'status_is 2 && err_has "frobnicate"'
"$topup" balance --msisdn 13800138000 --db "$work/nowhere.db" >"$work/out" 2>"$work/err"
status=$?
check "a missing database is an error that says to run init" eval 'status_is 1 && err_has "topup init"'

# ---- help ----

help_failures=""
while read -r words; do
    # shellcheck disable=SC2086
    if ! "$topup" $words --help >"$work/out" 2>"$work/err" || ! out_has "^Usage: topup"; then
        help_failures="$help_failures [$words]"
    fi
done <<'EOF'
init
migrate
plan set
operator add
operator list
range add
product add
product list
portability set
apikey create
apikey list
apikey revoke
subscribers import
recharge
balance
history
verify
pay gateway
pay notifications
alerts
reconcile
outbox list
outbox show
outbox retry
sms preview
sms send
merchant add
merchant list
merchant show
merchant suspend
merchant activate
merchant topup-float
merchant price
operator
EOF
check "every command's --help exits 0 with usage on stdout${help_failures:+ (failed:$help_failures)}" \
    [ -z "$help_failures" ]
"$topup" --help >"$work/out" 2>"$work/err"
status=$?
check "topup --help lists the commands" eval 'status_is 0 && out_has "subscribers import"'

# ---- the ledger is still sound ----

run verify
check "verify is still OK at the end" eval 'status_is 0 && out_has "^verify: OK"'
run verify --json
check "verify --json reports ok" eval 'status_is 0 && jq -e ".ok == true and .transfer_count > 0" "$work/out" >/dev/null'

# ---- the shared config file ----

printf 'secret-of-the-sandbox\n' >"$work/sandbox-secret"
chmod 600 "$work/sandbox-secret"
cat >"$work/topupd.conf" <<CONF
listen = 127.0.0.1:8080
sandbox.gateway = http://127.0.0.1:8080
sandbox.webhook_secret = $work/sandbox-secret
sms.transport = http
sms.url = http://127.0.0.1:9/sendsms
sms.lang = en
CONF
run pay gateway sandbox create --config "$work/topupd.conf" --out-trade-no TCLI1 --amount 10.00 \
    --currency CNY --method checkout
check "pay gateway reads topupd's config file, sms.* settings and all" \
    eval 'status_is 0 && out_has "/sandbox/pay/TCLI1"'
printf 'smss.lang = en\n' >>"$work/topupd.conf"
run pay gateway sandbox query --config "$work/topupd.conf" --out-trade-no TCLI1
check "a setting of an unknown section is refused, naming the line" \
    eval 'status_is 2 && err_has "topupd.conf:7: smss.lang is not a known setting"'

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
