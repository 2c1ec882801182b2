#!/usr/bin/env bash
# Runs the fuzz targets in fuzz/ (one per parser of outside input; see fuzz/fuzz_*.c).
#   fuzz/run.sh replay BUILD_DIR   replays each committed corpus with BUILD_DIR/replay_<target>
#                                  (built by every normal or ASan build).
#   fuzz/run.sh fuzz SECONDS       builds libFuzzer binaries in build-fuzz with clang and runs
#                                  each for SECONDS on its corpus. New inputs go to a temporary
#                                  directory, never into the committed corpus; crashing inputs
#                                  are kept and their paths printed.
# The last line is 'fuzz: N passed, M failed', counting targets; the exit status is non-zero
# when a target failed.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: fuzz/run.sh replay BUILD_DIR | fuzz/run.sh fuzz SECONDS" >&2
  exit 2
}

targets=()
for source in fuzz/fuzz_*.c; do
  name=$(basename "$source" .c)
  targets+=("${name#fuzz_}")
done

passed=0
failed=0

replay() { # build dir
  local build=$1 target log
  for target in "${targets[@]}"; do
    log=$(mktemp)
    if [ ! -x "$build/replay_$target" ]; then
      echo "fuzz: $target FAILED: $build/replay_$target is not built"
      failed=$((failed + 1))
    elif "$build/replay_$target" "fuzz/corpus/$target" >"$log" 2>&1; then
      echo "fuzz: $target ok ($(sed -nE 's/^replay: ([0-9]+) inputs.*/\1/p' "$log") inputs)"
      passed=$((passed + 1))
    else
      cat "$log"
      echo "fuzz: $target FAILED replaying fuzz/corpus/$target (the input is named above)"
      failed=$((failed + 1))
    fi
    rm -f "$log"
  done
}

fuzz() { # seconds
  local seconds=$1 target work rc
  CC=clang cmake -S . -B build-fuzz -DTOPUP_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null ||
    { echo "fuzz: configuring build-fuzz failed"; exit 1; }
  local build_targets=()
  for target in "${targets[@]}"; do build_targets+=(--target "fuzz_$target"); done
  cmake --build build-fuzz -j"$(nproc 2>/dev/null || echo 2)" "${build_targets[@]}" ||
    { echo "fuzz: building build-fuzz failed"; exit 1; }
  work=$(mktemp -d "${TMPDIR:-/tmp}/topup-fuzz.XXXXXX")
  for target in "${targets[@]}"; do
    mkdir -p "$work/$target/new" "$work/$target/artifacts"
    echo "== fuzz_$target for ${seconds}s"
    # The first directory receives new inputs; the committed corpus is only read.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
      "build-fuzz/fuzz_$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$work/$target/artifacts/" "$work/$target/new" "fuzz/corpus/$target" \
      >"$work/$target/log" 2>&1
    rc=$?
    tail -n 15 "$work/$target/log"
    if [ $rc -eq 0 ]; then
      passed=$((passed + 1))
      echo "fuzz: $target ok ($(find "$work/$target/new" -type f | wc -l) new inputs)"
    else
      failed=$((failed + 1))
      echo "fuzz: $target FAILED; log $work/$target/log, input(s):"
      find "$work/$target/artifacts" -type f | sed 's/^/  /'
    fi
  done
  echo "fuzz: work directory $work"
}

case "${1:-}" in
  replay) [ $# -eq 2 ] || usage; replay "$2" ;;
  fuzz) [ $# -eq 2 ] && [[ $2 =~ ^[0-9]+$ ]] || usage; fuzz "$2" ;;
  *) usage ;;
esac

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
