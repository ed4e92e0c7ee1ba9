#!/usr/bin/env bash
# The pre-commit hooks in .pre-commit-hooks.yaml, run by the real pre-commit:
#  1. `pre-commit try-repo <this repo> promready --all-files` on a scratch
#     repository with a kubeadm ClusterConfiguration that has no extraArgs and a
#     kubelet environment file fails and shows the findings;
#  2. the `promready-fix` hook, through ci/integration/pre-commit-config.yaml
#     (the configuration shown in docs/integrations.md, copied byte for byte),
#     rewrites both files and fails with "files were modified by this hook";
#  3. `pre-commit run --all-files` (both hooks) then passes, and the fix left
#     the file unrelated to Kubernetes alone.
#
# The hooks are built from a snapshot of the working tree (uncommitted and
# untracked files included), committed in a temporary repository: try-repo on
# the real repository would only see committed files plus changes to tracked
# ones. The configuration's `repo:` URL is redirected to that snapshot with
# git's url.<base>.insteadOf and its `rev:` is a tag on the snapshot, so the
# configuration is used unchanged.
#
# pre-commit compiles promready (`cargo install --path .`) for every try-repo
# and once per snapshot for the configuration's store: dependencies are kept in
# a cached CARGO_TARGET_DIR and the store in a cached PRE_COMMIT_HOME per
# snapshot commit.
# shellcheck source=ci/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v git >/dev/null || fail "git is required"
command -v cargo >/dev/null || fail "cargo is required (language: rust uses the system toolchain)"

if command -v pre-commit >/dev/null; then
  PRE_COMMIT=$(command -v pre-commit)
else
  python_venv pre-commit
  PRE_COMMIT="$WORK/venv/bin/pre-commit"
fi

config="$REPO/ci/integration/pre-commit-config.yaml"
fixtures="$REPO/testdata/integration/pre-commit"
hook_repo=$(sed -n 's/^ *- repo: *//p' "$config")
hook_rev=$(sed -n 's/^ *rev: *//p' "$config")
{ [ -n "$hook_repo" ] && [ -n "$hook_rev" ]; } || fail "no repo:/rev: in $config"

# 1. The snapshot: a deterministic commit (fixed author and dates), so the same
#    working tree gives the same commit and reuses the cached store.
snap="$WORK/promready"
sha=$(snapshot_repo "$snap")
git -C "$snap" -c tag.gpgsign=false tag "$hook_rev"

export PRE_COMMIT_HOME="$CACHE/pre-commit/$sha"
# Stores of other snapshots are stale: keep only this one.
find "$CACHE/pre-commit" -mindepth 1 -maxdepth 1 ! -name "$sha" -exec rm -rf {} + 2>/dev/null || true
mkdir -p "$PRE_COMMIT_HOME"
export CARGO_TARGET_DIR="$CACHE/snapshot-target"
export PRE_COMMIT_COLOR=never
# pre-commit passes GIT_CONFIG_COUNT/KEY/VALUE on to git: the configuration's
# repository URL resolves to the snapshot.
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.$snap.insteadOf" GIT_CONFIG_VALUE_0="$hook_repo"

# 2. The scratch repository the hooks run on.
scratch="$WORK/scratch"
mkdir -p "$scratch"
cp -R "$fixtures/." "$scratch/"
cp "$config" "$scratch/.pre-commit-config.yaml"
printf '# ci\nNot configuration.\n' >"$scratch/README.md"
git -C "$scratch" init -q -b main
git -C "$scratch" add -A
git -C "$scratch" -c user.name=ci -c user.email=ci@promready.invalid \
  -c commit.gpgsign=false commit -q -m fixtures
cd "$scratch"

# try-repo with the hook manifest of the snapshot: findings make it fail.
expect_status 1 "$WORK/try-repo.log" \
  "$PRE_COMMIT" try-repo "$snap" promready --ref "$sha" --all-files
expect_in "$WORK/try-repo.log" "promready" "Failed" \
  "PR003 controller-manager-metrics-on-loopback" "PR004" "PR005" "cluster.yaml:" \
  "PR010" "node/etc/default/kubelet"
if grep -q "values.yaml\|README.md" "$WORK/try-repo.log"; then
  fail "files promready does not read were reported: $(cat "$WORK/try-repo.log")"
fi

# The fix hook from the documented configuration rewrites the files.
expect_status 1 "$WORK/fix.log" "$PRE_COMMIT" run promready-fix --all-files
expect_in "$WORK/fix.log" "files were modified by this hook"
for changed in cluster.yaml node/etc/default/kubelet; do
  if git diff --quiet -- "$changed"; then fail "the fix hook did not change $changed"; fi
done
git diff --quiet -- values.yaml README.md || fail "the fix hook changed files it must not touch"

# Both hooks pass on the fixed files, and fixing again changes nothing.
expect_status 0 "$WORK/pass.log" "$PRE_COMMIT" run --all-files
expect_in "$WORK/pass.log" "promready fix" "promready" "Passed"

# 4. A 1.22 repository where only the kubelet environment file is staged: the
#    hook sees that one file, not the ClusterConfiguration with
#    kubernetesVersion. Flags valid on 1.22 (--network-plugin, --cni-bin-dir)
#    are not reported as removed, and the fix hook removes nothing.
legacy="$WORK/legacy"
mkdir -p "$legacy/node/etc/default"
cp "$config" "$legacy/.pre-commit-config.yaml"
cat >"$legacy/cluster.yaml" <<'YAML'
apiVersion: kubeadm.k8s.io/v1beta3
kind: ClusterConfiguration
kubernetesVersion: v1.22.17
controllerManager:
  extraArgs:
    bind-address: 0.0.0.0
scheduler:
  extraArgs:
    bind-address: 0.0.0.0
etcd:
  local:
    extraArgs:
      listen-metrics-urls: http://0.0.0.0:2381
YAML
printf 'KUBELET_EXTRA_ARGS=--network-plugin=cni --cni-bin-dir=/opt/cni/bin\n' >"$legacy/node/etc/default/kubelet"
git -C "$legacy" init -q -b main
git -C "$legacy" add -A
git -C "$legacy" -c user.name=ci -c user.email=ci@promready.invalid \
  -c commit.gpgsign=false commit -q -m legacy
cd "$legacy"
printf 'KUBELET_EXTRA_ARGS=--network-plugin=cni --cni-bin-dir=/opt/cni/bin --read-only-port=0\n' >node/etc/default/kubelet
git add node/etc/default/kubelet
expect_status 0 "$WORK/legacy-fix.log" "$PRE_COMMIT" run promready-fix
expect_status 0 "$WORK/legacy-scan.log" "$PRE_COMMIT" run promready
if grep -q "PR009" "$WORK/legacy-fix.log" "$WORK/legacy-scan.log"; then
  fail "flags valid on 1.22 were reported as removed: $(cat "$WORK/legacy-fix.log" "$WORK/legacy-scan.log")"
fi
grep -q -- "--network-plugin=cni --cni-bin-dir=/opt/cni/bin" node/etc/default/kubelet ||
  fail "the fix hook removed flags valid on 1.22: $(cat node/etc/default/kubelet)"
# The repository's .promready.yaml is found from the staged file upwards: with
# a version that refuses the flags, the same file fails.
printf 'kubernetes-version: "1.24"\n' >.promready.yaml
expect_status 1 "$WORK/legacy-1.24.log" "$PRE_COMMIT" run promready
expect_in "$WORK/legacy-1.24.log" "PR009" "--network-plugin"

ok "try-repo fails on findings; promready-fix fixes (files modified); both hooks then pass; a staged env file of a 1.22 repository keeps its flags"
