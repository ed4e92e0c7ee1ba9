#!/usr/bin/env bash
# The Packer template ci/packer/promready.pkr.hcl, run by the real packer (a
# `null` source, no communicator, a `shell-local` provisioner) on a copy of
# testdata/demo:
#  a. with -var fix=false it only runs `promready scan`: the demo image has
#     errors, so the build fails and names them;
#  b. as written (fix, then scan) the build passes, the copy is fixed, and a
#     second scan of it finds nothing (a 1.30 node image: the demo's 1.10 kubelet
#     keeps PR002, whose fix would open cAdvisor's port 4194);
#  c. an image where only a warning is left after the fixes (a suppression
#     without a reason, PR011): the build passes, and the log lists it in one
#     line (fix's `remains:` line and the scan's concise line);
#  d. an image where an error is left (a quoted `readOnlyPort: "0"`, PR012,
#     which no fix can make): the build fails and the log names it;
#  e. a path that is no node image (an empty directory, a directory that does
#     not exist): the build fails and the log says why.
#
# packer comes from Debian (apt-get install packer: 1.6.6, which has the null
# builder, shell-local and HCL2) when it is not installed.
# shellcheck source=ci/integration/lib.sh
source "$(dirname "$0")/lib.sh"

if ! command -v packer >/dev/null; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    skip "packer is not installed and cannot be installed here (needs root and apt-get)"
  fi
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -q && apt-get install -y -q packer; } >"$WORK/apt.log" 2>&1 || {
    cat "$WORK/apt.log" >&2
    skip "packer could not be installed from Debian's packages"
  }
fi
promready_bin

template="$REPO/ci/packer/promready.pkr.hcl"
export CHECKPOINT_DISABLE=1 PACKER_NO_COLOR=1
# packer keeps its cache and plugins under the current directory and HOME.
cd "$WORK" || exit 1
export PACKER_CACHE_DIR="$WORK/packer_cache"

rootfs="$WORK/root fs"
cp -a "$REPO/testdata/demo" "$rootfs"

packer validate -var "rootfs=$rootfs" "$template" >"$WORK/validate.log" 2>&1 || {
  cat "$WORK/validate.log" >&2
  fail "packer validate rejected $template"
}

# a. Scan only: the demo's errors fail the build.
expect_status 1 "$WORK/scan-only.log" packer build -color=false \
  -var "rootfs=$rootfs" -var "promready=$PROMREADY" -var fix=false "$template"
# shellcheck disable=SC2046 # one code per word
expect_in "$WORK/scan-only.log" "Build 'null.rootfs' errored" $(cut -d' ' -f1 "$REPO/testdata/demo.expect")
if grep -q "^ *null.rootfs: fixed" "$WORK/scan-only.log"; then
  fail "fix=false still ran promready fix"
fi
diff -r "$REPO/testdata/demo" "$rootfs" >/dev/null || fail "fix=false changed the rootfs"

# The demo's 1.10 kubelet cannot be fixed completely: removing its `--cadvisor-port=0` would
# open cAdvisor's unauthenticated port 4194, so `fix` keeps it and PR002 stays an error. The
# cases where fixing leaves nothing (b) or only a warning (c) start from a 1.30 node image.
fixable="$REPO/testdata/fix/kubelet-config-nested"

# b. Fix, then scan: the build passes and the image is fixed.
rootfs="$WORK/fixable rootfs"
cp -a "$fixable" "$rootfs"
expect_status 0 "$WORK/fix.log" packer build -color=false \
  -var "rootfs=$rootfs" -var "promready=$PROMREADY" "$template"
expect_in "$WORK/fix.log" "Build 'null.rootfs' finished"
if diff -r "$fixable" "$rootfs" >/dev/null; then fail "promready fix changed nothing"; fi
# Every error and warning is gone (PR021, a note without a fix, stays and passes).
expect_status 0 "$WORK/rescan.log" "$PROMREADY" scan --quiet "$rootfs"

# c. Only a warning left: the build passes and lists it.
warning="$WORK/warning rootfs"
cp -a "$fixable" "$warning"
printf '# promready: ignore[PR003]\n' >>"$warning/etc/default/kubelet"
expect_status 0 "$WORK/warning.log" packer build -color=false \
  -var "rootfs=$warning" -var "promready=$PROMREADY" "$template"
expect_in "$WORK/warning.log" "Build 'null.rootfs' finished" \
  "remains: PR011 invalid-suppression (warning) at etc/default/kubelet:2: the suppression of PR003 gives no reason" \
  "etc/default/kubelet:2:1: warning: PR011 invalid-suppression: the suppression of PR003 gives no reason" \
  "promready: 2 warnings, 1 note in 2 files"

# d. An error left: the build fails and names it.
error="$WORK/error rootfs"
cp -a "$REPO/testdata/rootfs/config-wrong-type" "$error"
expect_status 1 "$WORK/error.log" packer build -color=false \
  -var "rootfs=$error" -var "promready=$PROMREADY" "$template"
expect_in "$WORK/error.log" "Build 'null.rootfs' errored" \
  "remains: PR012 component-will-not-start (error) at var/lib/kubelet/config.yaml:11" \
  "var/lib/kubelet/config.yaml:11:15: error: PR012 component-will-not-start: readOnlyPort: expected a number, found a string; kubelet will not start" \
  "promready: 1 error, 1 note in 2 files"

# e. Not a node image: the build fails at `fix` and says why.
mkdir -p "$WORK/empty"
expect_status 1 "$WORK/empty.log" packer build -color=false \
  -var "rootfs=$WORK/empty" -var "promready=$PROMREADY" "$template"
expect_in "$WORK/empty.log" "Build 'null.rootfs' errored" "no configuration promready reads"
expect_status 1 "$WORK/missing.log" packer build -color=false \
  -var "rootfs=$WORK/no-such-rootfs" -var "promready=$PROMREADY" "$template"
expect_in "$WORK/missing.log" "Build 'null.rootfs' errored" "no-such-rootfs: no such file or directory"

ok "scan-only build fails on the demo image; fix-then-scan build passes and fixes it; a warning left passes and is listed; an error left fails and is named; a path that is no node image fails ($(packer version | head -1))"
