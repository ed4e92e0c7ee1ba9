#!/usr/bin/env bash
# Runs every integration check, each in its own labelled section, and fails if
# any fails. A check that cannot run here exits 0 after printing "SKIPPED:";
# that counts as a pass but is repeated loudly in the summary.
#
# The promready binary is built once (release, --locked, into the cache) and
# shared through $PROMREADY. Caches live in $PROMREADY_CI_CACHE (default
# ${TMPDIR:-/tmp}/promready-ci-cache-<hash of the checkout's path>, one per
# checkout, so that two checkouts can run .ci/run at once); nothing is written
# in the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${PROMREADY_CI_CACHE:-${TMPDIR:-/tmp}/promready-ci-cache-$(printf '%s' "$repo" | sha256sum | cut -c1-12)}
mkdir -p "$cache"
export PROMREADY_CI_CACHE="$cache"

log=$(mktemp -d "${TMPDIR:-/tmp}/promready-run.XXXXXX")
trap 'rm -rf "$log"' EXIT

start=$SECONDS
echo "== build: cargo build --release --locked (CARGO_TARGET_DIR=$cache/target)"
if ! CARGO_TERM_COLOR=never CARGO_TARGET_DIR="$cache/target" cargo build --release --locked \
  --quiet --manifest-path "$repo/Cargo.toml" >"$log/build" 2>&1; then
  cat "$log/build" >&2
  echo "integration: FAILED: the release build" >&2
  exit 1
fi
export PROMREADY="$cache/target/release/promready"
echo "   $(( SECONDS - start ))s"

failed=()
skipped=()
for check in pre-commit packer github zizmor sarif docs-check; do
  echo "== $check: ci/integration/$check.sh"
  t=$SECONDS
  status=0
  bash "$here/$check.sh" >"$log/$check" 2>&1 || status=$?
  sed 's/^/   /' "$log/$check"
  if [ "$status" -ne 0 ]; then
    failed+=("$check")
    echo "   FAILED (exit status $status, $(( SECONDS - t ))s)"
  elif grep -q "SKIPPED:" "$log/$check"; then
    skipped+=("$check")
    echo "   !!! SKIPPED ($(( SECONDS - t ))s) !!!"
  else
    echo "   passed ($(( SECONDS - t ))s)"
  fi
done

echo "== summary ($(( SECONDS - start ))s)"
for check in "${skipped[@]}"; do
  echo "!!! $check was SKIPPED: $(grep -h "SKIPPED:" "$log/$check" | head -1)"
done
if [ "${#failed[@]}" -ne 0 ]; then
  echo "integration: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "integration: ok"
