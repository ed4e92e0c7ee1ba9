#!/usr/bin/env bash
# The GitHub Action (action.yml) and the example workflow
# (ci/github/promready.yml): their shape, parsed with PyYAML, and the action's
# steps run as the runner runs a composite action, so that every promready and
# cargo command line in them runs for real:
#  - the workflow's inputs on a clean checkout: install (the cache is empty),
#    save to the cache, scan, upload (the SARIF log is checked, not sent) and
#    check all pass;
#  - the same on a checkout with findings: promready comes from the cache, one
#    scan prints the report and writes the SARIF log that holds them, and the
#    check fails the job;
#  - format: github with fail-on: never: annotations, no upload, job passes;
#  - an unknown format fails with a message;
#  - a path that does not exist beside one that does: the SARIF log of the
#    other is uploaded and the job fails with exit status 2;
#  - matrix jobs with a category each: each upload carries its own;
#  - a rust-toolchain.toml in the workspace naming a missing toolchain: the
#    install does not use it;
#  - version: <tag>: cargo install --git from the action's repository (a local
#    git server with a snapshot of the working tree stands in for github.com),
#    at the commit the tag names, which the cache key names too.
# See ci/integration/github_check.py.
# shellcheck source=ci/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v git >/dev/null || fail "git is required"
python_venv pyyaml
promready_bin

# The "server": file://$server/<owner>/<repo>, a snapshot of the working tree
# tagged with the rev the documentation pins. Kept in the cache at a fixed
# path, so that cargo's git checkout (and its build) is reused while the
# working tree does not change.
slug=$(sed -n 's|^ *- repo: *https://github.com/||p' "$REPO/ci/integration/pre-commit-config.yaml")
rev=$(sed -n 's/^ *rev: *//p' "$REPO/ci/integration/pre-commit-config.yaml")
{ [ -n "$slug" ] && [ -n "$rev" ]; } || fail "no repo:/rev: in ci/integration/pre-commit-config.yaml"
server="$CACHE/git-server"
rm -rf "$server"
snapshot_repo "$server/$slug" >/dev/null
git -C "$server/$slug" tag "$rev"

export PROMREADY_GIT_SERVER="$server"
export PROMREADY_CARGO_TARGET="$CACHE/target"
# cargo install --git reuses whatever a target directory holds for the same
# package version (rust-lang/cargo#13259): git builds get a directory of their
# own per content of what the build reads.
sources=$(cd "$REPO" && find Cargo.toml Cargo.lock README.md src rules -type f -print0 |
  sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
export PROMREADY_GIT_TARGET="$CACHE/git-target/$sources"
export PROMREADY_CARGO_HOME="$CACHE/cargo-home"
find "$CACHE/git-target" -mindepth 1 -maxdepth 1 ! -name "$sources" -exec rm -rf {} + 2>/dev/null || true
# The runner's cargo is on PATH; promready itself must come from the action.
"$WORK/venv/bin/python" "$REPO/ci/integration/github_check.py" "$REPO" "$WORK" >"$WORK/check.log" 2>&1 || {
  cat "$WORK/check.log" >&2
  fail "action.yml or ci/github/promready.yml (see above)"
}
ok "$(tail -1 "$WORK/check.log")"
