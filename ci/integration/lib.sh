# shellcheck shell=bash
# Shared by the ci/integration/*.sh scripts: strict mode, a private temporary
# directory removed on exit, a cache directory kept between runs, logging
# helpers and the promready binary under test.
#
# Nothing here writes inside the repository: builds go to the cache, work to
# the temporary directory.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCRIPT=$(basename "$0" .sh)
# Kept between runs (cargo target directories, the pre-commit store, the git
# server of github.sh): safe to delete at any time, it only makes the next run
# slower. One per checkout, so that two checkouts can run their checks at once
# without removing each other's state.
CACHE=${PROMREADY_CI_CACHE:-${TMPDIR:-/tmp}/promready-ci-cache-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)}
mkdir -p "$CACHE"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/promready-$SCRIPT.XXXXXX")
# PROMREADY_CI_VERBOSE=1 prints every log the script kept before it goes.
cleanup() {
  if [ -n "${PROMREADY_CI_VERBOSE:-}" ]; then
    local f
    for f in "$WORK"/*.log; do
      [ -e "$f" ] && printf '\n--- %s ---\n%s\n' "$(basename "$f")" "$(cat "$f")"
    done
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export CARGO_TERM_COLOR=never NO_COLOR=1

fail() {
  printf '%s: FAIL: %s\n' "$SCRIPT" "$*" >&2
  exit 1
}

skip() {
  printf '%s: SKIPPED: %s\n' "$SCRIPT" "$*"
  exit 0
}

ok() {
  printf '%s: ok: %s\n' "$SCRIPT" "$*"
}

# expect_status WANT LOG CMD...: runs CMD with its output in LOG; fails, showing
# LOG, unless CMD exits with WANT.
expect_status() {
  local want=$1 log=$2 status=0
  shift 2
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne "$want" ]; then
    printf '%s: FAIL: exit status %s, expected %s, from:\n  %s\n--- output ---\n' \
      "$SCRIPT" "$status" "$want" "$*" >&2
    cat "$log" >&2
    exit 1
  fi
}

# expect_in LOG TEXT...: fails, showing LOG, unless it contains every TEXT.
expect_in() {
  local log=$1 text
  shift
  for text in "$@"; do
    if ! grep -qF -- "$text" "$log"; then
      printf '%s: FAIL: %s does not contain %q; it holds:\n' \
        "$SCRIPT" "$(basename "$log")" "$text" >&2
      cat "$log" >&2
      exit 1
    fi
  done
}

# Sets PROMREADY to the promready binary under test: $PROMREADY when the caller
# gives one, otherwise a release build of this working tree (cached; cargo
# rebuilds only what changed).
promready_bin() {
  if [ -n "${PROMREADY:-}" ]; then
    [ -x "$PROMREADY" ] || fail "PROMREADY=$PROMREADY is not an executable"
    return
  fi
  CARGO_TARGET_DIR="$CACHE/target" cargo build --release --locked --quiet \
    --manifest-path "$REPO/Cargo.toml" >"$WORK/build.log" 2>&1 || {
    cat "$WORK/build.log" >&2
    fail "cargo build --release failed"
  }
  PROMREADY="$CACHE/target/release/promready"
  export PROMREADY
}

# A Python virtual environment in the temporary directory with PACKAGES from PyPI.
python_venv() {
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" \
    >"$WORK/pip.log" 2>&1 || {
    cat "$WORK/pip.log" >&2
    fail "pip install $* failed"
  }
}

# Copies the repository's working tree, as git would commit it (tracked and
# untracked files, .gitignore respected, uncommitted changes included), to DEST.
copy_worktree() {
  local dest=$1
  mkdir -p "$dest"
  if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (
      cd "$REPO"
      git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do
          # Deleted but still tracked files are listed too: skip them.
          if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
        done |
        tar --null --no-recursion -T - -cf -
    ) | tar -xf - -C "$dest"
  else
    tar -C "$REPO" --exclude=./.git --exclude=./target --exclude='*/target' -cf - . |
      tar -xf - -C "$dest"
  fi
}

# snapshot_repo DEST: a git repository at DEST holding the working tree (see
# copy_worktree) in one commit with a fixed author and date, so that the same
# working tree always gives the same commit; prints the commit.
snapshot_repo() {
  local dest=$1
  copy_worktree "$dest"
  (
    export GIT_AUTHOR_NAME=promready-ci GIT_AUTHOR_EMAIL=ci@promready.invalid
    export GIT_COMMITTER_NAME=promready-ci GIT_COMMITTER_EMAIL=ci@promready.invalid
    export GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z'
    git -C "$dest" init -q -b main
    git -C "$dest" add -A -f
    git -C "$dest" -c commit.gpgsign=false commit -q -m "promready working tree"
  )
  git -C "$dest" rev-parse HEAD
}
