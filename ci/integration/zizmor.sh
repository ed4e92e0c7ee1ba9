#!/usr/bin/env bash
# zizmor (https://docs.zizmor.sh, from PyPI), GitHub Actions' static analyser,
# on the action (action.yml) and the example workflow (ci/github/promready.yml):
# no finding, with the pedantic persona (which reports everything the regular
# one does, and code smells). Offline: the online audits need a GitHub token.
# The only suppression is the comment on the example's `uses:
# promready/promready@v0.1.0` (a release tag, as the pre-commit configuration
# pins; docs/integrations.md says how to pin its commit).
# shellcheck source=ci/integration/lib.sh
source "$(dirname "$0")/lib.sh"

python_venv "zizmor==1.33.1"
zizmor="$WORK/venv/bin/zizmor"
cd "$REPO"
status=0
"$zizmor" --offline --persona pedantic --no-progress --format plain \
  action.yml ci/github/promready.yml >"$WORK/zizmor.log" 2>&1 || status=$?
if [ "$status" -ne 0 ] || ! grep -q "No findings to report" "$WORK/zizmor.log"; then
  cat "$WORK/zizmor.log" >&2
  fail "zizmor reports findings in action.yml or ci/github/promready.yml (exit status $status)"
fi
# The suppression stays the one documented above.
ignores=$(grep -c "zizmor: ignore" action.yml ci/github/promready.yml | awk -F: '{ n += $2 } END { print n }')
[ "$ignores" -eq 1 ] || fail "expected exactly one zizmor suppression, found $ignores"
ok "$("$zizmor" --version): no findings in action.yml and ci/github/promready.yml (pedantic; $(tail -1 "$WORK/zizmor.log"))"
