#!/usr/bin/env bash
# Builds the fuzz targets once (cargo fuzz: nightly, optimised, with debug
# assertions and overflow checks, no sanitizer; the pipeline targets without
# comparison tracing; see README.md, Speed) and runs each of them in turn, then prints one line per
# target: executions, executions per second (libFuzzer's own figures), peak
# memory and crashes. Fails if any target crashes (a panic, a failed check,
# a timeout of one input, running out of memory) or cannot run.
#
#     ci/fuzz/run.sh [--seconds N] [--runs N] [TARGET...]
#
#   --seconds N  stop each target after N seconds (-max_total_time; default 20)
#   --runs N     stop each target after N executions (-runs); with --seconds
#                too, whichever comes first
#   TARGET       only these targets (default: all of `cargo fuzz list`)
#
# .ci/run runs it with the defaults; ci/fuzz/run-long.sh with --runs 10000000.
#
# Nothing is written in the repository. Kept between runs, in the cache of
# the integration checks (${PROMREADY_CI_CACHE:-/tmp/promready-ci-cache-<hash
# of the checkout's path>}): the fuzz builds (fuzz-target/ for the parser
# targets, fuzz-target-pipeline/ for image and named_file), the corpora
# (fuzz-corpus/<target>/, seeded from testdata/ by seed.sh and grown by every
# run) and crash reproducers (fuzz-artifacts/<target>/). cargo-fuzz is
# installed there (cargo-fuzz/bin/) when it is not on PATH.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${PROMREADY_CI_CACHE:-${TMPDIR:-/tmp}/promready-ci-cache-$(printf '%s' "$repo" | sha256sum | cut -c1-12)}
mkdir -p "$cache"

seconds=
runs=
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ -n "$seconds$runs" ] || seconds=20

fail() {
  echo "fuzz: FAIL: $*" >&2
  exit 1
}

export CARGO_TERM_COLOR=never
if ! cargo +nightly --version >/dev/null 2>&1; then
  fail "cargo +nightly is missing: the fuzz targets need a nightly toolchain (cargo-fuzz passes unstable compiler flags for libFuzzer's coverage instrumentation); install it with \`rustup toolchain install nightly\`"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  export PATH="$cache/cargo-fuzz/bin:$PATH"
  if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== fuzz: installing cargo-fuzz into $cache/cargo-fuzz"
    CARGO_TARGET_DIR="$cache/cargo-fuzz-build" cargo install --locked --quiet \
      --root "$cache/cargo-fuzz" cargo-fuzz >"$cache/cargo-fuzz-install.log" 2>&1 || {
      cat "$cache/cargo-fuzz-install.log" >&2
      fail "cargo install cargo-fuzz failed"
    }
    rm -rf "$cache/cargo-fuzz-build"
  fi
fi

cd "$repo"
# No sanitizer: promready forbids unsafe code (`unsafe_code = "forbid"` in
# Cargo.toml), so what AddressSanitizer adds is checking the few unsafe
# blocks of its dependencies, at several times the cost of every run; a
# panic, an overflow, a failed debug assertion, a hang and running out of
# memory are all caught without it. The two pipeline targets run a whole
# scan per input: tracing every comparison (to steer mutations past them)
# halved their speed, and their seeds already hold the words the code
# compares against, so they are built without it, in a target directory of
# their own (different compiler flags).
pipeline=(image named_file)
host=$(rustc +nightly -vV | sed -n 's/^host: //p')
build() { # target-dir [cargo fuzz build options...]
  local dir=$1
  shift
  cargo +nightly fuzz build --sanitizer none --fuzz-dir ci/fuzz --target-dir "$dir" "$@" \
    >>"$cache/fuzz-build.log" 2>&1 || {
    cat "$cache/fuzz-build.log" >&2
    fail "cargo +nightly fuzz build --sanitizer none $* failed"
  }
}
is_pipeline() {
  local p
  for p in "${pipeline[@]}"; do [ "$p" = "$1" ] && return 0; done
  return 1
}
bin_of() {
  if is_pipeline "$1"; then
    echo "$cache/fuzz-target-pipeline/$host/release/$1"
  else
    echo "$cache/fuzz-target/$host/release/$1"
  fi
}
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list --fuzz-dir ci/fuzz)
fi
start=$SECONDS
echo "== fuzz: build ($(cargo fuzz --version), $(cargo +nightly --version), in $cache/fuzz-target{,-pipeline})"
: >"$cache/fuzz-build.log"
parsers=0
for t in "${targets[@]}"; do
  if is_pipeline "$t"; then
    build "$cache/fuzz-target-pipeline" --no-trace-compares "$t"
  else
    parsers=1
  fi
done
if [ "$parsers" -eq 1 ]; then
  build "$cache/fuzz-target"
fi
echo "   $(( SECONDS - start ))s"

corpora="$cache/fuzz-corpus"
FUZZ_CORPUS="$corpora" bash "$here/seed.sh" >"$cache/fuzz-seed.log" 2>&1 || {
  cat "$cache/fuzz-seed.log" >&2
  fail "ci/fuzz/seed.sh failed"
}

limits=()
[ -n "$seconds" ] && limits+=("-max_total_time=$seconds")
[ -n "$runs" ] && limits+=("-runs=$runs")
failed=()
summary=()
for t in "${targets[@]}"; do
  bin=$(bin_of "$t")
  [ -x "$bin" ] || fail "no fuzz target $t (cargo fuzz list --fuzz-dir ci/fuzz)"
  artifacts="$cache/fuzz-artifacts/$t"
  mkdir -p "$artifacts" "$corpora/$t"
  log="$cache/fuzz-$t.log"
  before=$(find "$artifacts" -type f | wc -l)
  t0=$SECONDS
  status=0
  # -timeout: one input taking 10 s is a hang; the corpus grows in the cache.
  "$bin" "${limits[@]}" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpora/$t" >"$log" 2>&1 || status=$?
  crashes=$(( $(find "$artifacts" -type f | wc -l) - before ))
  figure() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
  line=$(printf '%-15s %10s execs %7s exec/s %5s MB %3s crashes %4ss' "$t" \
    "$(figure number_of_executed_units)" "$(figure average_exec_per_sec)" "$(figure peak_rss_mb)" \
    "$crashes" "$(( SECONDS - t0 ))")
  summary+=("$line")
  echo "   $line"
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed+=("$t")
    echo "   FAILED: $t (exit status $status); the end of its log ($log):" >&2
    tail -n 40 "$log" | sed 's/^/     /' >&2
    find "$artifacts" -type f -newer "$cache/fuzz-seed.log" | sed 's/^/     reproducer: /' >&2
    echo "     reproduce: cargo +nightly fuzz run $t --fuzz-dir ci/fuzz <reproducer>" >&2
  fi
done

echo "== fuzz: summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(( SECONDS - start ))s, ${limits[*]})"
printf '   %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  fail "${failed[*]}"
fi
echo "fuzz: ok"
