#!/usr/bin/env bash
# The checks are conditions passed to eval in single quotes on purpose: they expand when run
# (so variables read only inside them look unused to shellcheck).
# shellcheck disable=SC2016,SC2034
# Tests of `topup hall|staff|audit|shift|invoices`: what a business hall's operations rely on (staff set
# up with a password never taken from the command line and never shown, a drawer counted in and
# out through ledger transfers that leave it empty, over and short booked with their reason, one
# open shift per teller at their own hall, every action and refusal in an audit log nobody can
# rewrite, the ledger balanced after every shift operation).
# Usage: tests/cli/test_counter.sh BUILD_DIR
set -u

build_dir=${1:?usage: test_counter.sh BUILD_DIR}
# shellcheck source=tests/cli/lib.sh
source "$(dirname "$0")/lib.sh"
json() { jq -e "$1" "$work/out" >/dev/null; }
# verified: topup verify passes on the test database.
verified() { "$topup" verify --db "$db" >/dev/null 2>&1; }
# balance CODE: the ledger balance of an account, in minor units.
balance() { sqlite3 "$db" "SELECT balance_minor FROM accounts WHERE code = '$1'"; }
password="correct horse battery"

"$topup" init --demo --db "$db" >/dev/null

run hall add --id bj-xidan --name "北京西单营业厅" --currency CNY --address "西单北大街 120 号" --json
check "a hall is added with its safe account" eval 'status_is 0 && json ".safe_account == \"safe:bj-xidan\""'
run hall add --id bj-xidan --name again --currency CNY
check "a taken hall id is refused" eval 'status_is 1 && err_has "already a hall"'
run hall add --id "Bad Hall" --name x --currency CNY
check "a malformed hall id is refused" eval 'status_is 2 && err_has "\-\-id"'
"$topup" hall add --id sh-01 --name "上海营业厅" --currency CNY --db "$db" >/dev/null
run hall list --json
check "hall list shows both halls" eval 'status_is 0 && json "[.halls[].id] == [\"bj-xidan\", \"sh-01\"]"'

printf '%s\n' "$password" >"$work/password.in"
run staff add --id wang --name "王丽" --role teller --hall bj-xidan --json <"$work/password.in"
check "a teller is added from a password on stdin" eval 'status_is 0 && json ".role == \"teller\" and .hall == \"bj-xidan\" and .status == \"active\""'
stored=$(sqlite3 "$db" "SELECT password_hash FROM staff WHERE id = 'wang'")
check "only an Argon2id hash of the password is stored" eval '[[ $stored == \$argon2id\$* ]] && ! grep -rqa "$password" "$work/var"'
run staff add --id zhao --name "赵" --role teller --hall sh-01 <"$work/password.in"
check "a teller of another hall is added" eval 'status_is 0'
printf '%s\n' "$password" >"$work/secret"
chmod 600 "$work/secret"
run staff add --id li --name "李" --role supervisor --hall bj-xidan --password-file "$work/secret" </dev/null
check "a supervisor is added from a password file" eval 'status_is 0'
chmod 644 "$work/secret"
run staff add --id ma --name "马" --role teller --hall bj-xidan --password-file "$work/secret" </dev/null
check "a password file others can read is refused" eval 'status_is 2 && err_has "chmod 600"'
run staff add --id root --name Admin --role admin <"$work/password.in"
check "an admin needs no hall" eval 'status_is 0'
run staff add --id chen --name "陈" --role teller <"$work/password.in"
check "a teller without a hall is refused" eval 'status_is 2 && err_has "\-\-hall"'
run staff add --id chen --name "陈" --role teller --hall nowhere <"$work/password.in"
check "a teller of an unknown hall is refused" eval 'status_is 1 && err_has "no hall"'
printf '12345678\n' >"$work/weak.in"
run staff add --id chen --name "陈" --role teller --hall bj-xidan <"$work/weak.in"
check "a digits-only password is refused" eval 'status_is 1 && err_has "not only digits"'
run staff add --id chen --name "陈" --role cashier --hall bj-xidan <"$work/password.in"
check "an unknown role is refused" eval 'status_is 2 && err_has "\-\-role"'
run staff add --id wang --name again --role teller --hall bj-xidan <"$work/password.in"
check "a taken login name is refused" eval 'status_is 1 && err_has "already a staff member"'
run staff list --json
check "staff list never shows password hashes" eval 'status_is 0 && json "(.staff | length) == 4" && ! grep -q argon2 "$work/out"'
run staff list --hall bj-xidan --json
check "staff list filters by hall" eval 'status_is 0 && json "[.staff[].id] == [\"li\", \"wang\"]"'

run shift open --staff wang --float 200.00 --json
check "a shift opens with the counted float" eval 'status_is 0 && json ".status == \"open\" and .opening_float == \"200.00\" and .drawer_account == \"drawer:bj-xidan:wang\""'
shift_id=$(jq -r .id "$work/out")
check "the float moved from the safe into the drawer" eval '[ "$(balance drawer:bj-xidan:wang)" = -20000 ] && [ "$(balance safe:bj-xidan)" = 20000 ]'
check "verify passes after opening" verified
run shift open --staff wang --float 100.00
check "a second open shift is refused" eval 'status_is 1 && err_has "shift_already_open"'
check "the refused opening moved nothing" eval '[ "$(balance drawer:bj-xidan:wang)" = -20000 ]'
run shift open --staff zhao --float 50.00 --hall bj-xidan
check "a teller cannot open a shift at another hall" eval 'status_is 1 && err_has "wrong_hall"'
check "no drawer was made at the other hall" eval '[ -z "$(balance drawer:bj-xidan:zhao)" ]'
run shift open --staff root --float 50.00
check "an admin keeps no drawer" eval 'status_is 1 && err_has "role_refused"'
run shift open --staff nobody --float 50.00
check "an unknown staff member is refused" eval 'status_is 1 && err_has "staff_unknown"'
run shift open --staff li --float -5.00
check "a negative float is refused" eval 'status_is 2 && err_has "\-\-float"'

run shift report --id "$shift_id" --json
check "an open shift's report shows what the drawer holds" eval 'status_is 0 && json ".drawer_cash == \"200.00\" and .tenders == [] and .shift.counted_cash == null"'
run shift report --id 999
check "an unknown shift's report is refused" eval 'status_is 1 && err_has "no shift 999"'

run shift close --staff wang --counted 195.50
check "a shortage without a reason is refused" eval 'status_is 1 && err_has "reason_required"'
check "the refused closing left the shift open" eval '[ "$(balance drawer:bj-xidan:wang)" = -20000 ]'
run shift close --staff wang --counted 195.50 --reason "短款: 找零错误" --json
check "a shortage is booked with its reason" eval 'status_is 0 && json ".shift.status == \"closed\" and .shift.expected_cash == \"200.00\" and .shift.over_short == \"-4.50\" and .shift.close_reason == \"短款: 找零错误\""'
check "the shortage went to cash_over_short and the cash back to the safe" eval '[ "$(balance cash_over_short)" = -450 ] && [ "$(balance drawer:bj-xidan:wang)" = 0 ] && [ "$(balance safe:bj-xidan)" = 450 ]'
check "verify passes after a short close" verified
run shift close --staff wang --counted 10.00
check "closing without an open shift is refused" eval 'status_is 1 && err_has "no_open_shift"'

run shift open --staff wang --float 100.00 --json
check "the next shift opens after the close" eval 'status_is 0 && json ".id > '"$shift_id"'"'
run shift close --staff wang --counted 100.20 --reason "customer left change" --json
check "an overage is booked" eval 'status_is 0 && json ".shift.over_short == \"0.20\""'
check "verify passes after an over close" verified
run shift open --staff li --float 0 --json
check "a supervisor opens an empty drawer" eval 'status_is 0 && json ".opening_float_minor == 0"'
run shift close --staff li --counted 0 --json
check "an empty drawer closes even" eval 'status_is 0 && json ".shift.over_short == \"0.00\""'
check "verify passes after an empty shift" verified

run staff disable --id wang
check "a teller is disabled" eval 'status_is 0'
run shift open --staff wang --float 100.00
check "a disabled teller cannot open a shift" eval 'status_is 1 && err_has "staff_disabled"'
run staff disable --id nobody
check "disabling an unknown login is refused" eval 'status_is 1 && err_has "no staff member"'

run audit list --staff wang --json
check "the audit log has every action of the teller, refusals too, newest first" eval 'status_is 0 && json "[.entries[].action] | index(\"shift.open.refused\") != null and .[0] == \"shift.open.refused\" and (map(select(. == \"shift.close\")) | length) == 2"'
check "each entry says where it came from" eval 'json "all(.entries[]; .origin | startswith(\"cli:\"))"'
run audit list --hall sh-01 --json
check "the audit log filters by hall" eval 'status_is 0 && json "[.entries[].action] == [\"staff.add\", \"hall.add\"]"'
run audit list --limit 3
check "the text audit list honours --limit" eval 'status_is 0 && [ "$(wc -l <"$work/out")" -eq 3 ]'
run audit list --limit 0
check "a limit of 0 is refused" eval 'status_is 2'
count=$(sqlite3 "$db" "SELECT count(*) FROM audit_log")
sqlite3 "$db" "UPDATE audit_log SET detail = 'nothing'" 2>"$work/err"
check "an audit entry cannot be rewritten" eval 'err_has "append-only"'
sqlite3 "$db" "DELETE FROM audit_log" 2>"$work/err"
check "an audit entry cannot be deleted" eval 'err_has "append-only" && [ "$(sqlite3 "$db" "SELECT count(*) FROM audit_log")" = "$count" ]'

run verify
check "verify is OK: every shift moved money only by balanced transfers" eval 'status_is 0'

# Invoices. A counter recharge is taken only over HTTP (tests/integration/counter_api.test.mjs),
# so the rows finance lists are written here with sqlite3, after the last verify: these orders
# moved no money. Times are cut at Beijing midnight: 2026-11-25 10:00, 23:30 and 2026-11-26 00:10
# in Beijing, the last being still the 25th in UTC.
drawer=$(sqlite3 "$db" "SELECT drawer_account_id FROM shifts WHERE id = $shift_id")
at_morning=$(date -u -d '2026-11-25T02:00:00Z' +%s)
at_night=$(date -u -d '2026-11-25T15:30:00Z' +%s)
at_next_day=$(date -u -d '2026-11-25T16:10:00Z' +%s)
counter_order() { # ID AT HALL STAFF STATUS PRICE TITLE TAX_ID REVERSED_AT
    local title=NULL reversed=NULL reversed_by=NULL
    [ -n "$7" ] && title="'$7'"
    [ -n "$9" ] && reversed=$9 && reversed_by="'li'"
    sqlite3 "$db" "INSERT INTO orders(id, channel, msisdn, operator_id, product_id, face_minor,
        price_minor, currency, funding_account_id, status, created_at, updated_at)
        VALUES ($1, 'counter', '+8613800138000', 'cmcc', 'cmcc-50', 5000, $6, 'CNY', $drawer,
        '$5', $2, $2);
      INSERT INTO counter_orders(order_id, shift_id, hall_id, staff_id, tender, tendered_minor,
        id_type, id_hash, id_last4, invoice_title, invoice_tax_id, created_at, reversed_at,
        reversed_by) VALUES ($1, $shift_id, '$3', '$4', 'cash', $6, 'resident_id',
        zeroblob(32), '002X', $title, '$8', $2, $reversed, $reversed_by);"
}
counter_order 900001 "$at_morning" bj-xidan wang succeeded 5000 "北京某某科技有限公司" 91110000600037341L ""
counter_order 900002 "$at_night" bj-xidan wang succeeded 4900 "张三" "" "$at_night"
counter_order 900003 "$at_night" bj-xidan wang succeeded 5000 "" "" ""
counter_order 900004 "$at_night" sh-01 zhao succeeded 5000 "上海某某有限公司" 91310000000000000X ""
counter_order 900005 "$at_next_day" bj-xidan wang succeeded 5000 "次日公司" "" ""

run invoices list --date 2026-11-25 --json
check "the day's invoices are listed in order, without orders that asked for none or of the next Beijing day" eval 'status_is 0 && json "[.invoices[].order_id] == [900001, 900002, 900004]"'
check "an invoice lists title, tax id, amount paid, hall, teller and status" eval 'json ".invoices[0] | .title == \"北京某某科技有限公司\" and .tax_id == \"91110000600037341L\" and .amount == \"50.00\" and .currency == \"CNY\" and .hall == \"bj-xidan\" and .teller == \"wang\" and .status == \"succeeded\""'
check "a person has no tax id, and a reversed order's invoice shows as reversed" eval 'json ".invoices[1] | .tax_id == null and .amount == \"49.00\" and .status == \"reversed\""'
run invoices list --date 2026-11-25 --hall sh-01
check "the text list filters by hall, one line per invoice" eval 'status_is 0 && [ "$(wc -l <"$work/out")" -eq 1 ] && out_has "2026-11-25 23:30:00+08:00  900004  上海某某有限公司  91310000000000000X  CNY 50.00  sh-01  zhao  succeeded"'
run invoices list --date 2026-11-26
check "the next Beijing day has the order taken after midnight" eval 'status_is 0 && out_has "900005  次日公司  -  CNY 50.00"'
# A busy day: more invoices than the command reads in one query (200) all come out, once each.
at_busy=$(date -u -d '2026-11-27T04:00:00Z' +%s)
sqlite3 "$db" "INSERT INTO orders(id, channel, msisdn, operator_id, product_id, face_minor, price_minor,
    currency, funding_account_id, status, created_at, updated_at)
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 205)
    SELECT 910000 + i, 'counter', '+8613800138000', 'cmcc', 'cmcc-50', 5000, 5000, 'CNY',
      $drawer, 'succeeded', $at_busy + i, $at_busy + i FROM n;
  INSERT INTO counter_orders(order_id, shift_id, hall_id, staff_id, tender, tendered_minor,
    id_type, id_hash, id_last4, invoice_title, created_at)
    SELECT id, $shift_id, 'bj-xidan', 'wang', 'cash', 5000, 'resident_id', zeroblob(32), '002X',
      'Busy ' || id, created_at FROM orders WHERE id > 910000;"
run invoices list --date 2026-11-27 --json
check "a day of more invoices than one batch lists each once, in order" eval 'status_is 0 && json "(.invoices | length) == 205 and ([.invoices[].order_id] | . == (sort | unique)) and .invoices[204].order_id == 910205"'
run invoices list --date 2026-11-24
check "a day without invoices says so" eval 'status_is 0 && out_has "no invoices on 2026-11-24"'
run invoices list --date 2026-13-01
check "a malformed day is refused" eval 'status_is 2 && err_has "\-\-date"'
run invoices list
check "the day is required" eval 'status_is 2 && err_has "date"'

run invoices pdf --order 900001 --out "$work/invoice.pdf" --json
check "the invoice is written as a PDF" eval 'status_is 0 && json ".order_id == 900001 and .status == \"succeeded\"" && [ "$(head -c 5 "$work/invoice.pdf")" = "%PDF-" ]'
if command -v pdftotext >/dev/null; then
    pdftotext -enc UTF-8 "$work/invoice.pdf" "$work/invoice.txt"
    check "the PDF names buyer, tax id, amount, order, seller, hall and teller" eval 'grep -q "北京某某科技有限公司" "$work/invoice.txt" && grep -q 91110000600037341L "$work/invoice.txt" && grep -q "¥50.00" "$work/invoice.txt" && grep -q 900001 "$work/invoice.txt" && grep -q "中国移动" "$work/invoice.txt" && grep -q "北京西单营业厅" "$work/invoice.txt" && grep -q "王丽" "$work/invoice.txt"'
    check "the PDF is one A4 page" eval 'pdfinfo "$work/invoice.pdf" | grep -q "Pages: *1" && pdfinfo "$work/invoice.pdf" | grep -q "(A4)"'
    run invoices pdf --order 900002 --out "$work/void.pdf"
    pdftotext -enc UTF-8 "$work/void.pdf" "$work/void.txt"
    check "a reversed order's invoice is marked void" eval 'status_is 0 && out_has "marked void" && grep -q VOID "$work/void.txt" && grep -q Individual "$work/void.txt"'
else
    echo "# skipped: pdftotext is not installed (Debian package poppler-utils)"
fi
run invoices pdf --order 900003 --out "$work/none.pdf"
check "an order that asked for no invoice has none" eval 'status_is 1 && err_has "no invoice request" && [ ! -e "$work/none.pdf" ]'
run invoices pdf --order 12345 --out "$work/none.pdf"
check "an unknown order has no invoice" eval 'status_is 1 && err_has "no invoice request"'
run invoices pdf --order 900001 --out "$work/missing/dir/invoice.pdf"
check "an unwritable output is reported" eval 'status_is 1 && err_has "Writing"'
run invoices pdf --order x --out "$work/x.pdf"
check "a malformed order id is refused" eval 'status_is 2 && err_has "\-\-order"'

echo "counter: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
