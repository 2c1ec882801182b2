# Shared by the CLI test scripts: a fresh work directory and database path, the topup binary of
# BUILD_DIR, TAP-like result lines and the final "NAME: N passed, N failed" count.
# The caller sets build_dir before sourcing this file.
# shellcheck shell=bash

topup="$(cd "$build_dir" && pwd)/topup"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db="$work/var/topup.db"
passed=0
failed=0

ok() {
    echo "ok - $1"
    passed=$((passed + 1))
}

not_ok() {
    echo "not ok - $1"
    failed=$((failed + 1))
    if [ -s "$work/out" ]; then sed 's/^/#   stdout: /' "$work/out" | head -30; fi
    if [ -s "$work/err" ]; then sed 's/^/#   stderr: /' "$work/err" | head -20; fi
}

# run ARGS...: runs topup with the test database; stdout in $work/out, stderr in $work/err, exit
# status in $status.
run() {
    "$topup" "$@" --db "$db" >"$work/out" 2>"$work/err"
    status=$?
}

# check DESCRIPTION CONDITION...: one test line from a shell condition.
check() {
    local description=$1
    shift
    if "$@"; then ok "$description"; else not_ok "$description"; fi
}

out_has() { grep -q -- "$1" "$work/out"; }
err_has() { grep -q -- "$1" "$work/err"; }
status_is() { [ "$status" -eq "$1" ]; }
