#!/usr/bin/env bash
# The Packer template ci/packer/promready.pkr.hcl, run by the real packer (a
# `null` source, no communicator, a `shell-local` provisioner) on a copy of
# testdata/demo:
#  a. with -var fix=false it only runs `promready scan`: the demo image has
#     errors, so the build fails and names them;
#  b. as written (fix, then scan) the build passes, the copy is fixed, and a
#     second scan of it finds nothing.
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

# b. Fix, then scan: the build passes and the image is fixed.
expect_status 0 "$WORK/fix.log" packer build -color=false \
  -var "rootfs=$rootfs" -var "promready=$PROMREADY" "$template"
expect_in "$WORK/fix.log" "Build 'null.rootfs' finished"
if diff -r "$REPO/testdata/demo" "$rootfs" >/dev/null; then fail "promready fix changed nothing"; fi
# Every finding, warnings included, is gone.
expect_status 0 "$WORK/rescan.log" "$PROMREADY" scan --quiet "$rootfs"

ok "scan-only build fails on the demo image; fix-then-scan build passes and fixes it ($(packer version | head -1))"
