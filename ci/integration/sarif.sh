#!/usr/bin/env bash
# promready's SARIF as GitHub code scanning takes it:
#  1. Microsoft's SARIF validator (@microsoft/sarif-multitool from npm, the
#     validator GitHub points SARIF producers to), with the SARIF rules and the
#     GitHub ingestion rules (--rule-kind "Sarif;Gh"), on the SARIF promready
#     writes for the demo image, rootfs fixtures (notes and PR012 findings
#     among them), every configuration repository fixture, a single named
#     file, named files that are skipped, several inputs at once, several
#     inputs one of which cannot be scanned (an error notification), and
#     .tar.gz images (entries as nested artifacts, notes included): no result
#     of level error or warning. The validator's exit
#     status does not reflect its findings, so its output log is read.
#  2. The locations GitHub would show: code scanning reads a relative
#     `artifactLocation.uri` from the repository root and ignores `uriBaseId`,
#     so for inputs that are files in the repository (not archives) every
#     location must name an existing file when promready runs from the
#     repository root, as it does in a workflow.
# Problems are printed one a line (rule id, file, message), and fail the script.
# shellcheck source=ci/integration/lib.sh
source "$(dirname "$0")/lib.sh"

command -v npm >/dev/null || fail "npm is required"
promready_bin

# The validator is a self-contained .NET program shipped in the npm package.
mkdir -p "$WORK/npm"
(cd "$WORK/npm" && npm install --no-audit --no-fund --no-save --silent \
  --prefix "$WORK/npm" @microsoft/sarif-multitool >"$WORK/npm.log" 2>&1) || {
  cat "$WORK/npm.log" >&2
  fail "npm install @microsoft/sarif-multitool failed"
}
multitool="$WORK/npm/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
[ -x "$multitool" ] || chmod +x "$multitool" 2>/dev/null || true
[ -x "$multitool" ] || fail "no Linux validator binary at $multitool"
# No libicu needed; no telemetry.
export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 DOTNET_CLI_TELEMETRY_OPTOUT=1

# The inputs, named as a workflow would name them: relative to the repository.
cd "$REPO"
tar -C testdata/demo -czf "$WORK/demo.tar.gz" .
sarif="$WORK/sarif"
mkdir -p "$sarif"
# scan_to NAME ARGS...: the SARIF log of `promready scan ARGS` (which must exit
# 0; WANT=2 scan_to ... for a scan with an input error).
scan_to() {
  local name=$1 status=0
  shift
  "$PROMREADY" scan --quiet --output-format sarif -o "$sarif/$name.sarif" --fail-on never "$@" \
    >"$WORK/scan.log" 2>&1 || status=$?
  if [ "$status" -ne "${WANT:-0}" ] || [ ! -s "$sarif/$name.sarif" ]; then
    cat "$WORK/scan.log" >&2
    fail "promready scan --format sarif $* exited $status"
  fi
}

scan_to demo testdata/demo
in_repo=(demo)
for fixture in kubeadm-1.10-deb kubeadm-modern-rpm-joined cp-kubeadm-1.30 \
  absolute-symlinks config-dir-dropins clean-image masked-unit config-wrong-type \
  colon-prefix-no-expansion; do
  [ -d "testdata/rootfs/$fixture" ] || fail "fixture testdata/rootfs/$fixture is gone"
  scan_to "rootfs-$fixture" "testdata/rootfs/$fixture"
  in_repo+=("rootfs-$fixture")
done
for dir in testdata/repos/*/; do
  name=repos-$(basename "$dir")
  scan_to "$name" "${dir%/}"
  in_repo+=("$name")
done
scan_to file testdata/repos/kubeadm-v1beta3-default/cluster.yaml
scan_to skipped testdata/repos/kubeadm-v1beta3-default/cluster.yaml \
  testdata/repos/kubeadm-v1beta3-default/README.md
scan_to several testdata/repos/kubeadm-v1beta3-default testdata/demo
WANT=2 scan_to input-error testdata/demo testdata/no-such-image
in_repo+=(file skipped several input-error)
scan_to demo-tar-gz "$WORK/demo.tar.gz"
tar -C testdata/rootfs/masked-unit -czf "$WORK/masked.tar.gz" .
scan_to masked-tar-gz "$WORK/masked.tar.gz"

# 1. The validator, offline when possible: its SARIF2006 rule probes every URI
#    in the log over HTTP, and this machine reaches only package registries.
isolate=()
if unshare -n true 2>/dev/null; then isolate=(unshare -n); fi
status=0
"${isolate[@]}" "$multitool" validate "$sarif"/*.sarif --rule-kind "Sarif;Gh" \
  --level "Error;Warning;Note" -o "$WORK/validation.sarif" >"$WORK/validate.log" 2>&1 || status=$?
if [ ! -s "$WORK/validation.sarif" ]; then
  cat "$WORK/validate.log" >&2
  fail "the SARIF validator wrote no log (exit status $status)"
fi
problems=0
if ! python3 "$REPO/ci/integration/sarif_gate.py" validator "$WORK/validation.sarif" \
  >"$WORK/validator-problems.txt"; then
  printf '%s: the SARIF validator (Sarif;Gh rules) reports problems in promready'\''s SARIF:\n' "$SCRIPT" >&2
  sed 's/^/  /' "$WORK/validator-problems.txt" >&2
  problems=1
fi

# 2. Where GitHub would put the alerts.
files=()
for name in "${in_repo[@]}"; do files+=("$sarif/$name.sarif"); done
if ! python3 "$REPO/ci/integration/sarif_gate.py" locations "$REPO" "${files[@]}" \
  >"$WORK/location-problems.txt"; then
  printf '%s: locations GitHub code scanning would not find (uriBaseId is ignored; uris are read from the repository root):\n' "$SCRIPT" >&2
  sort -u "$WORK/location-problems.txt" | sed 's/^/  /' >&2
  problems=1
fi

[ "$problems" -eq 0 ] || fail "promready's SARIF is not ready for GitHub code scanning (see above)"
ok "${#files[@]} SARIF logs + 2 archives pass the validator (Sarif;Gh) with no error or warning; every location resolves from the repository root"
