#!/usr/bin/env bash
# The checks are conditions passed to eval in single quotes on purpose: they expand when run
# (so variables read only inside them look unused to shellcheck).
# shellcheck disable=SC2016,SC2034
# Tests of `topup hall|staff|audit|shift`: what a business hall's operations rely on (staff set
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

echo "counter: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
