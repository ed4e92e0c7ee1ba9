#!/usr/bin/env bash
# Fills ci/fuzz/corpus/<target>/ with seed inputs taken from testdata/, one
# file per distinct input, named by its SHA-1 (as libFuzzer names its own).
# Safe to run again: it only adds files. Run from anywhere:
#
#     ci/fuzz/seed.sh
#
# FUZZ_CORPUS=DIR fills DIR/<target>/ instead (ci/fuzz/run.sh keeps its
# corpora in the CI cache).
set -euo pipefail
cd "$(dirname "$0")/../.."

corpus=${FUZZ_CORPUS:-ci/fuzz/corpus}

# add TARGET FILE...: copies each file into the target's corpus.
add() {
  local target=$1
  shift
  mkdir -p "$corpus/$target"
  local f
  for f in "$@"; do
    [ -f "$f" ] || continue
    cp "$f" "$corpus/$target/$(sha1sum < "$f" | cut -c1-40)"
  done
}

# files PATTERN...: regular files below testdata/ (symlinks not followed).
files() {
  find testdata \( "$@" \) -type f -print0 | sort -z | xargs -0 -r printf '%s\n'
}

mapfile -t units < <(files -name '*.service')
mapfile -t dropins < <(files -path '*.service.d/*.conf' -o -path '*/service.d/*.conf')
mapfile -t envs < <(files -path '*/etc/default/*' -o -path '*/etc/sysconfig/*' -o -name '*.env')
mapfile -t configs < <(grep -rlZ --exclude='*.expect' 'kind: KubeletConfiguration' testdata | sort -z | xargs -0 -r printf '%s\n'; files -path '*kubelet.conf.d/*')
mapfile -t manifests < <(files -path '*/manifests/*.yaml')
mapfile -t yamls < <(files -path 'testdata/repos/*' -name '*.yaml' -o -path 'testdata/fix/repo-*' -name '*.yaml' -o -path 'testdata/files/*' -name '*.yaml' -o -path 'testdata/fix/file-*' -name '*.yaml')

add unit "${units[@]}"
add dropin "${dropins[@]}"
add envfile "${envs[@]}"
add kubelet_config "${configs[@]}"
add static_pod "${manifests[@]}"
add kubeadm_dir "${yamls[@]}"
add named_file "${yamls[@]}" "${configs[@]}" "${envs[@]}"

# The `image` target takes unit, drop-in, environment file, KubeletConfiguration
# and static pod joined by two NUL bytes: build one input per fixture image.
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for root in testdata/rootfs/*/ testdata/fix/*/ testdata/demo/; do
  [ -d "$root/etc" ] || continue
  first() { find "$root" \( "$@" \) -type f -print 2>/dev/null | sort | head -n1; }
  : > "$tmp"
  for part in \
    "$(first -name kubelet.service)" \
    "$(first -path '*kubelet.service.d/*.conf')" \
    "$(first -path '*/etc/default/kubelet' -o -path '*/etc/sysconfig/kubelet')" \
    "$(first -path '*/var/lib/kubelet/config.yaml')" \
    "$(first -path '*/manifests/*.yaml')"; do
    [ -n "$part" ] && cat "$part" >> "$tmp"
    printf '\0\0' >> "$tmp"
  done
  add image "$tmp"
done

# `named_file` also takes rootfs tarballs (promready recognises them by their
# first bytes): each fixture image as .tar, .tar.gz and .tar.zst. Built
# reproducibly (sorted names, fixed owners and times, gzip without a name or
# mtime), so that running this again adds nothing; one 512-byte block per
# record keeps the seeds small.
archives=$(mktemp -d)
trap 'rm -f "$tmp"; rm -rf "$archives"' EXIT
for root in testdata/demo/ testdata/fix/*/; do
  [ -d "$root/etc" ] || continue
  case $root in *.after/|*.after-unsafe/) continue ;; esac
  name=$(basename "$root")
  plain="$archives/$name.tar"
  tar --format=gnu --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
    --blocking-factor=1 -C "$root" -cf "$plain" .
  add named_file "$plain"
  if command -v gzip >/dev/null; then
    gzip -n -9 -c "$plain" > "$plain.gz"
    add named_file "$plain.gz"
  fi
  if command -v zstd >/dev/null; then
    # With the content checksum (the zstd command's default).
    zstd -q -19 --check -c "$plain" > "$plain.zst"
    add named_file "$plain.zst"
  fi
done
command -v gzip >/dev/null || echo "seed: gzip is missing, no .tar.gz seeds" >&2
command -v zstd >/dev/null || echo "seed: zstd is missing, no .tar.zst seeds" >&2

for d in "$corpus"/*/; do
  printf '%-16s %s inputs\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
