#!/usr/bin/env bash
# bench/run.sh: topup's recharge benchmarks (`make bench`; never part of `make test`).
#
#   (a) end-to-end durable recharges/s over HTTP: wrk against topupd on a fresh DEMO database,
#       then `topup verify` on it
#   (b) the in-process pipeline: bench_inproc (resolution + group-commit writer, no HTTP)
#   (c) raw SQLite doing the same SQL on one thread, 1000 recharges per transaction: the ceiling
#       (b) is compared with; (c') the same at the batch size (b) reached, for the explanation
#   (d) PostgreSQL doing the same work in a plpgsql function, driven by pgbench, on a throwaway
#       cluster this script starts and removes
#   (e) partner orders over HTTP: the same load signed by a merchant, compared with (a)
#
# Prints one table, then as its very last line:
#   bench: http_rps=N http_p99_ms=N partner_rps=N inproc_rps=N sqlite_raw_rps=N pg_rps=N
# Progress goes to stderr. Fails (exit 1) when a stage cannot run, when more than 0.1% of the
# HTTP answers are not 201, when any in-process recharge is not 201, or when `topup verify` (or
# the PostgreSQL equivalent) finds a problem. Missed performance targets are reported in the
# table, not turned into a failure, unless BENCH_STRICT=1.
#
# Settings (environment, defaults in brackets): BUILD_DIR [build], BENCH_HTTP_SECONDS [12],
# BENCH_HTTP_CONNECTIONS [64], BENCH_INPROC_COUNT [200000], BENCH_INPROC_THREADS [64],
# BENCH_RAW_COUNT [200000], BENCH_RAW_SMALL_COUNT [BENCH_INPROC_COUNT], BENCH_PG_SECONDS [10],
# BENCH_PG_CLIENTS [16]; BENCH_KEEP=1 keeps the temporary directory, BENCH_STRICT=1 fails the
# run when a target is missed.
# shellcheck disable=SC2154 # w_*, i_*, c_*, cs_* are assigned by eval "$(fields ...)"
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_DIR:-build}
http_seconds=${BENCH_HTTP_SECONDS:-12}
http_connections=${BENCH_HTTP_CONNECTIONS:-64}
inproc_count=${BENCH_INPROC_COUNT:-200000}
inproc_threads=${BENCH_INPROC_THREADS:-64}
raw_count=${BENCH_RAW_COUNT:-200000}
raw_small_count=${BENCH_RAW_SMALL_COUNT:-$inproc_count}
pg_seconds=${BENCH_PG_SECONDS:-10}
pg_clients=${BENCH_PG_CLIENTS:-16}

# Targets on the reference 2-core machine (docs/performance.md).
target_http_rps=20000
target_http_p99_ms=20
target_http_over_pg=5
target_inproc_over_raw=0.8

say() { echo "bench/run.sh: $*" >&2; }
die() {
  echo "bench/run.sh: FAILED: $*" >&2
  exit 1
}

for program in topup topupd bench_inproc bench_sqlite_raw bench_partner_sign; do
  [ -x "$build/$program" ] || die "$build/$program is missing; run 'make build' first"
done
command -v wrk >/dev/null || die "wrk is not installed (scripts/deps.sh bench)"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] && command -v pg_config >/dev/null; then
  pg_bin=$(pg_config --bindir)
fi
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ] || [ ! -x "$pg_bin/pgbench" ]; then
  die "PostgreSQL server binaries (initdb, pg_ctl, pgbench) not found (scripts/deps.sh bench)"
fi

work=$(mktemp -d /tmp/topup-bench.XXXXXX)
topupd_pid=""
pg_dir=""
pg_as=()
cleanup() {
  local status=$?
  if [ -n "$topupd_pid" ]; then
    kill -TERM "$topupd_pid" 2>/dev/null || true
    wait "$topupd_pid" 2>/dev/null || true
  fi
  if [ -n "$pg_dir" ]; then
    if [ -f "$pg_dir/data/postmaster.pid" ]; then
      "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$pg_dir"
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# key=value pairs of a "prefix: k=v k=v" line as shell-safe assignments "<var_prefix>_k=v".
fields() {
  local line=$1 var_prefix=$2 pair
  for pair in ${line#*: }; do
    case "$pair" in
      *=*) printf '%s_%s=%q\n' "$var_prefix" "${pair%%=*}" "${pair#*=}" ;;
    esac
  done
}

# Makes a fresh DEMO database with an API key; prints the key.
demo_db() {
  local db=$1
  "$build/topup" init --db "$db" --demo >/dev/null || die "topup init --demo failed"
  "$build/topup" apikey create --db "$db" --name bench --scope recharge | tail -n 1
}

verify_db() {
  local db=$1 what=$2
  if ! "$build/topup" verify --db "$db" >"$work/verify.out" 2>&1; then
    cat "$work/verify.out" >&2
    die "topup verify found problems after $what"
  fi
  say "$what: $(tail -n 1 "$work/verify.out")"
}

# ---- (a) HTTP ----------------------------------------------------------------------------------
say "(a) HTTP: topupd + wrk -t2 -c$http_connections -d${http_seconds}s"
http_db=$work/http.db
key=$(demo_db "$http_db")
[ -n "$key" ] || die "topup apikey create printed no key"
"$build/topupd" --db "$http_db" --listen 127.0.0.1:0 2>"$work/topupd.log" &
topupd_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^topupd: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/topupd.log")
  [ -n "$port" ] && break
  kill -0 "$topupd_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || {
  cat "$work/topupd.log" >&2
  die "topupd did not start"
}
wrk -t2 -c"$http_connections" -d"${http_seconds}s" --timeout 10s --latency \
  -s bench/recharge.lua "http://127.0.0.1:$port" -- "$key" "$$" >"$work/wrk.out" 2>&1 ||
  {
    cat "$work/wrk.out" >&2
    die "wrk failed"
  }
curl -fsS "http://127.0.0.1:$port/metrics" >"$work/metrics.txt" 2>/dev/null || true
kill -TERM "$topupd_pid"
wait "$topupd_pid" || die "topupd did not stop cleanly: $(tail -n 3 "$work/topupd.log")"
topupd_pid=""
wrk_line=$(grep '^bench_wrk: requests=' "$work/wrk.out" || true)
[ -n "$wrk_line" ] || {
  cat "$work/wrk.out" >&2
  die "wrk printed no summary (bench/recharge.lua done())"
}
eval "$(fields "$wrk_line" w)"
http_bad=$((w_other + w_socket_errors))
http_total=$((w_requests + w_socket_errors))
[ "$w_created" -gt 0 ] || die "no recharge over HTTP succeeded: $(grep first_other "$work/wrk.out")"
if [ $((http_bad * 1000)) -gt "$http_total" ]; then
  cat "$work/wrk.out" >&2
  die "$http_bad of $http_total HTTP recharges were not 201 (more than 0.1%)"
fi
verify_db "$http_db" "(a)"
http_rps=$(awk -v n="$w_created" -v us="$w_duration_us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
http_p50_ms=$(awk -v us="$w_p50_us" 'BEGIN { printf "%.1f", us / 1000 }')
http_p99_ms=$(awk -v us="$w_p99_us" 'BEGIN { printf "%.1f", us / 1000 }')
batch_count=$(sed -n 's/^topup_commit_batch_size_count \([0-9]*\)$/\1/p' "$work/metrics.txt")
batch_jobs=$(sed -n 's/^topup_commit_batch_size_sum \([0-9]*\)$/\1/p' "$work/metrics.txt")
http_batch_avg=$(awk -v n="${batch_jobs:-0}" -v b="${batch_count:-0}" \
  'BEGIN { if (b > 0) printf "%.1f", n / b; else printf "?" }')

# ---- (e) partner orders over HTTP ---------------------------------------------------------------
# The same load as (a) through the partner API: every request signed (HMAC-SHA256 checked by
# topupd), its nonce spent and its merchant_order_id recorded in the order's transaction, the
# float debited. wrk cannot sign, so bench_partner_sign signs enough requests beforehand.
say "(e) partner orders: topupd + wrk -t2 -c$http_connections -d${http_seconds}s, pre-signed"
partner_db=$work/partner.db
demo_db "$partner_db" >/dev/null
(umask 077 && "$build/topup" merchant add --db "$partner_db" --id bench --name bench \
  --currency CNY | tail -n 1 >"$work/partner.secret") ||
  die "topup merchant add failed"
"$build/topup" merchant topup-float --db "$partner_db" --id bench --amount 900000000.00 \
  >/dev/null || die "topup merchant topup-float failed"
partner_count=$(awk -v r="$http_rps" -v s="$http_seconds" 'BEGIN { printf "%.0f", r * s * 1.5 + 1000 }')
"$build/bench_partner_sign" --secret-file "$work/partner.secret" --count "$partner_count" \
  --run "$$" >"$work/partner.signed" || die "bench_partner_sign failed"
"$build/topupd" --db "$partner_db" --listen 127.0.0.1:0 2>"$work/topupd-partner.log" &
topupd_pid=$!
port=""
for _ in $(seq 1 100); do
  port=$(sed -n 's/^topupd: listening on 127\.0\.0\.1:\([0-9]*\),.*/\1/p' "$work/topupd-partner.log")
  [ -n "$port" ] && break
  kill -0 "$topupd_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$port" ] || die "topupd did not start for (e)"
wrk -t2 -c"$http_connections" -d"${http_seconds}s" --timeout 10s --latency \
  -s bench/partner.lua "http://127.0.0.1:$port" -- bench "$work/partner.signed" 2 \
  >"$work/wrk-partner.out" 2>&1 || {
  cat "$work/wrk-partner.out" >&2
  die "wrk failed for (e)"
}
kill -TERM "$topupd_pid"
wait "$topupd_pid" || die "topupd did not stop cleanly after (e)"
topupd_pid=""
eval "$(fields "$(grep '^bench_wrk: requests=' "$work/wrk-partner.out")" e)"
[ "$e_created" -gt 0 ] || die "no partner order succeeded: $(grep first_other "$work/wrk-partner.out")"
if [ $(((e_other + e_socket_errors) * 1000)) -gt "$((e_requests + e_socket_errors))" ]; then
  cat "$work/wrk-partner.out" >&2
  die "more than 0.1% of the partner orders were not 202"
fi
verify_db "$partner_db" "(e)"
partner_rps=$(awk -v n="$e_created" -v us="$e_duration_us" 'BEGIN { printf "%.0f", n / (us / 1e6) }')
partner_p99_ms=$(awk -v us="$e_p99_us" 'BEGIN { printf "%.1f", us / 1000 }')

# ---- (b) in-process ----------------------------------------------------------------------------
say "(b) in-process: bench_inproc, $inproc_count recharges from $inproc_threads threads"
inproc_db=$work/inproc.db
demo_db "$inproc_db" >/dev/null
"$build/bench_inproc" --db "$inproc_db" --count "$inproc_count" --threads "$inproc_threads" \
  >"$work/inproc.out" 2>&1 || {
  cat "$work/inproc.out" >&2
  die "bench_inproc failed"
}
inproc_line=$(grep '^bench_inproc: ' "$work/inproc.out")
eval "$(fields "$inproc_line" i)"
verify_db "$inproc_db" "(b)"

# ---- (c) raw SQLite ----------------------------------------------------------------------------
say "(c) raw SQLite: bench_sqlite_raw, $raw_count recharges, 1000 per transaction"
"$build/bench_sqlite_raw" --db "$work/raw.db" --count "$raw_count" --batch 1000 \
  >"$work/raw.out" 2>&1 || {
  cat "$work/raw.out" >&2
  die "bench_sqlite_raw failed"
}
raw_line=$(grep '^bench_sqlite_raw: ' "$work/raw.out")
eval "$(fields "$raw_line" c)"
verify_db "$work/raw.db" "(c)"

# The same SQL at the batch size the pipeline actually reached: with one request in flight per
# submitter the writer's batches are far smaller than (c)'s 1000, and each commit costs a WAL
# write of every page the batch dirtied plus an fsync. Not a target; it shows how much of the
# b/c gap is batch size and how much is the pipeline itself.
raw_batch=$(awk -v b="$i_batch_avg" 'BEGIN { b = int(b + 0.5); print b < 1 ? 1 : b }')
say "(c') raw SQLite at (b)'s batch size: $raw_small_count recharges, $raw_batch per transaction"
"$build/bench_sqlite_raw" --db "$work/raw_small.db" --count "$raw_small_count" \
  --batch "$raw_batch" >"$work/raw_small.out" 2>&1 || {
  cat "$work/raw_small.out" >&2
  die "bench_sqlite_raw --batch $raw_batch failed"
}
eval "$(fields "$(grep '^bench_sqlite_raw: ' "$work/raw_small.out")" cs)"

# ---- (d) PostgreSQL ----------------------------------------------------------------------------
say "(d) PostgreSQL: throwaway cluster, pgbench -c $pg_clients -j 2 -T $pg_seconds"
pg_dir=$(mktemp -d /tmp/topup-bench-pg.XXXXXX)
if [ "$(id -u)" -eq 0 ]; then
  # PostgreSQL refuses to run as root; the Debian package's system user runs the cluster.
  id postgres >/dev/null 2>&1 || die "running as root and there is no 'postgres' user"
  chown postgres: "$pg_dir"
  pg_as=(runuser -u postgres --)
fi
cp bench/pg_recharge.sql "$pg_dir/"
chmod 644 "$pg_dir/pg_recharge.sql"
pg_port=54329 # only names the socket file: no TCP listener, the socket dir is private
pg_conn=(-h "$pg_dir" -p "$pg_port" -U bench)
(cd "$pg_dir" && "${pg_as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U bench -A trust -E UTF8 \
  --no-instructions --no-sync >"$work/initdb.out" 2>&1) || {
  cat "$work/initdb.out" >&2
  die "initdb failed"
}
# Durable like synchronous=FULL: fsync and synchronous_commit on (the defaults, said out loud).
# Memory and checkpoint spacing are sized so a 10 s run measures commits, not checkpoints.
(cd "$pg_dir" && "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w \
  -t 60 -o "-p $pg_port -k $pg_dir -c listen_addresses='' -c fsync=on \
  -c synchronous_commit=on -c full_page_writes=on -c shared_buffers=256MB \
  -c max_wal_size=4GB -c checkpoint_timeout=30min" start >/dev/null 2>&1) || {
  cat "$pg_dir/server.log" >&2 2>/dev/null || true
  die "the PostgreSQL cluster did not start"
}
psql_run() { (cd "$pg_dir" && "${pg_as[@]}" "$pg_bin/psql" -X -q -v ON_ERROR_STOP=1 \
  "${pg_conn[@]}" -d postgres "$@"); }
psql_run <bench/pg_schema.sql >"$work/pg_schema.out" 2>&1 || {
  cat "$work/pg_schema.out" >&2
  die "bench/pg_schema.sql failed"
}
(cd "$pg_dir" && "${pg_as[@]}" "$pg_bin/pgbench" -n -c "$pg_clients" -j 2 -T "$pg_seconds" \
  -f "$pg_dir/pg_recharge.sql" "${pg_conn[@]}" postgres) >"$work/pgbench.out" 2>&1 || {
  cat "$work/pgbench.out" >&2
  die "pgbench failed"
}
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' "$work/pgbench.out")
pg_failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.out")
[ -n "$pg_tps" ] || {
  cat "$work/pgbench.out" >&2
  die "pgbench printed no tps"
}
[ "${pg_failed:-0}" -eq 0 ] || die "$pg_failed PostgreSQL recharges failed"
pg_check=$(psql_run -At -c "SELECT (SELECT count(*) FROM bench_problems) || ' '
  || (SELECT count(*) FROM idempotency WHERE status <> 201) || ' '
  || (SELECT count(*) FROM orders WHERE status = 'succeeded')") ||
  die "cannot check the PostgreSQL results"
read -r pg_problems pg_refused pg_orders <<<"$pg_check"
[ "$pg_problems" -eq 0 ] || die "the PostgreSQL ledger has $pg_problems problems (bench_problems)"
[ "$pg_refused" -eq 0 ] || die "$pg_refused PostgreSQL recharges were refused"
say "(d): $pg_orders orders, ledger balanced"
pg_version=$("$pg_bin/postgres" --version | sed 's/^postgres (PostgreSQL) //')
"${pg_as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
rm -rf "$pg_dir"
pg_dir=""
pg_rps=$(awk -v t="$pg_tps" 'BEGIN { printf "%.0f", t }')

# ---- the table ---------------------------------------------------------------------------------
met() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN {
  ok = op == ">=" ? v >= t : v <= t; printf "%s", ok ? "yes" : "NO" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "0" }'; }
http_over_pg=$(ratio "$http_rps" "$pg_rps")
inproc_over_raw=$(ratio "$i_rps" "$c_rps")
sqlite_version=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo "?")
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)

row() { printf '%-58s %14s %10s %5s\n' "$@"; }
echo
echo "topup recharge benchmark: $(nproc) cores ($cpu), SQLite $sqlite_version," \
  "PostgreSQL $pg_version"
row "row" "value" "target" "met"
row "$(printf '%058d' 0 | tr 0 -)" "$(printf '%014d' 0 | tr 0 -)" "----------" "-----"
row "(a) HTTP recharges/s (wrk -t2 -c$http_connections, ${http_seconds}s, 201 only)" \
  "$http_rps" ">= $target_http_rps" "$(met "$http_rps" ">=" "$target_http_rps")"
row "(a) HTTP latency p50 ms" "$http_p50_ms" "" ""
row "(a) HTTP latency p99 ms" "$http_p99_ms" "<= $target_http_p99_ms" \
  "$(met "$http_p99_ms" "<=" "$target_http_p99_ms")"
row "(a) HTTP answers not 201 / commit batch avg" "$http_bad / $http_batch_avg" "" ""
row "(e) HTTP partner orders/s (signed, nonce, float; 202 only)" "$partner_rps" "" ""
row "(e) HTTP partner order latency p99 ms" "$partner_p99_ms" "" ""
row "e/a partner orders over API recharges" "$(ratio "$partner_rps" "$http_rps")" "" ""
row "(b) in-process pipeline recharges/s ($i_threads threads)" "$i_rps" "" ""
row "(b) in-process latency p50 / p99 ms" "$i_p50_ms / $i_p99_ms" "" ""
row "(b) in-process commit batch avg" "$i_batch_avg" "" ""
row "(c) raw SQLite recharges/s (1 thread, 1000 per commit)" "$c_rps" "" ""
row "(c') raw SQLite recharges/s at (b)'s batch ($cs_batch per commit)" "$cs_rps" "" ""
row "(d) PostgreSQL recharges/s (pgbench -c $pg_clients, plpgsql)" "$pg_rps" "" ""
row "a/d HTTP over PostgreSQL" "$http_over_pg" ">= $target_http_over_pg" \
  "$(met "$http_over_pg" ">=" "$target_http_over_pg")"
row "b/c pipeline over raw SQLite" "$inproc_over_raw" ">= $target_inproc_over_raw" \
  "$(met "$inproc_over_raw" ">=" "$target_inproc_over_raw")"
row "b/c' pipeline over raw SQLite at the same batch size" "$(ratio "$i_rps" "$cs_rps")" "" ""
echo

all_met=$(awk -v a="$http_rps" -v p="$http_p99_ms" -v ad="$http_over_pg" -v bc="$inproc_over_raw" \
  -v ta="$target_http_rps" -v tp="$target_http_p99_ms" -v tad="$target_http_over_pg" \
  -v tbc="$target_inproc_over_raw" \
  'BEGIN { print (a >= ta && p <= tp && ad >= tad && bc >= tbc) ? 1 : 0 }')
printf 'bench: http_rps=%s http_p99_ms=%s partner_rps=%s inproc_rps=%s sqlite_raw_rps=%s pg_rps=%s\n' \
  "$http_rps" "$http_p99_ms" "$partner_rps" "$i_rps" "$c_rps" "$pg_rps"
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$all_met" != 1 ]; then
  exit 1 # the table says which target was missed
fi
