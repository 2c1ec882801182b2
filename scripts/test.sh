#!/usr/bin/env bash
# make test: unit tests (cmocka) on the normal and the ASan+UBSan builds, the CLI tests and the
# HTTP integration tests (node --test) against the ASan+UBSan daemon. Ends with one summary line
# 'N passed, N failed' counting every test of every runner.
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
log_dir=tests/artifacts
mkdir -p "$log_dir"

# Fail loudly on any sanitizer report, in the programs the tests start too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

count_ctest() { # build dir
  local out="$log_dir/ctest-$(basename "$1").log"
  (cd "$1" && ctest --output-on-failure) >"$out" 2>&1
  local rc=$?
  cat "$out"
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$out" | tail -n 1)
  total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.*passed, ([0-9]+) tests failed.*/\1/' <<<"$line")
  if [ -z "$line" ]; then total=1; bad=1; fi
  if [ $rc -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
  passed=$((passed + total - bad))
  failed=$((failed + bad))
}

# Runs a test script that ends with "NAME: N passed, N failed" and adds its counts; a script
# that dies without that line, or fails without counting a failure, counts as one failure.
count_script() { # NAME COMMAND...
  local name=$1
  shift
  local out="$log_dir/$name.log"
  "$@" >"$out" 2>&1
  local rc=$?
  cat "$out"
  local line
  line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$out" | tail -n 1)
  if [ -z "$line" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + $(sed -E "s/^$name: ([0-9]+) passed.*/\1/" <<<"$line")))
  failed=$((failed + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
  if [ $rc -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed' <<<"$line"; then failed=$((failed + 1)); fi
}

# The payment providers' own SDKs are the oracles of the payment tests; npm ci installs exactly
# the versions in tests/package-lock.json.
install_oracles() {
  if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules ]; then
    (cd tests && npm ci --no-audit --no-fund --loglevel=error) || return 1
    touch tests/node_modules
  fi
}

count_node() {
  local out="$log_dir/integration.log"
  local suites=(tests/integration/)
  # The payment providers' SDKs and the SMSC peer come from tests/package.json.
  install_oracles || { echo "npm ci failed in tests/"; failed=$((failed + 1)); }
  suites+=(tests/payments/ tests/sms/ tests/partners/ tests/portal/ tests/counter/)
  TOPUP_BUILD=build-asan node --test --test-concurrency=1 "${suites[@]}" >"$out" 2>&1
  local rc=$?
  cat "$out"
  local pass fail
  pass=$(grep -E '^# pass [0-9]+' "$out" | tail -n 1 | awk '{print $3}')
  fail=$(grep -E '^# fail [0-9]+' "$out" | tail -n 1 | awk '{print $3}')
  if [ -z "$pass" ]; then failed=$((failed + 1)); return; fi
  passed=$((passed + pass))
  failed=$((failed + fail))
  if [ $rc -ne 0 ] && [ "$fail" -eq 0 ]; then failed=$((failed + 1)); fi
}

echo "== unit tests (normal build)"
count_ctest build
echo "== unit tests (ASan+UBSan build)"
count_ctest build-asan
if [ -f tests/cli/test_cli.sh ]; then
  echo "== CLI tests (ASan+UBSan build)"
  count_script cli bash tests/cli/test_cli.sh build-asan
  echo "== reconcile CLI tests (ASan+UBSan build)"
  count_script reconcile bash tests/cli/test_reconcile.sh build-asan
  echo "== merchant CLI tests (ASan+UBSan build)"
  count_script merchant bash tests/cli/test_merchant.sh build-asan
  echo "== partner callback CLI tests (ASan+UBSan build)"
  count_script callbacks bash tests/cli/test_callbacks.sh build-asan
  echo "== counter CLI tests (ASan+UBSan build)"
  count_script counter bash tests/cli/test_counter.sh build-asan
fi
if [ -f fuzz/run.sh ]; then
  echo "== fuzz corpus replay (ASan+UBSan build)"
  count_script fuzz bash fuzz/run.sh replay build-asan
fi
if compgen -G 'tests/integration/*.test.mjs' >/dev/null; then
  echo "== HTTP integration tests (ASan+UBSan build)"
  count_node
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
