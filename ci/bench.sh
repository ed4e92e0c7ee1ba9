#!/usr/bin/env bash
# Benchmarks promready on rootfs archives against the tools that decompress
# them, side by side, and prints the ratios (median wall times of alternating
# warm runs: 5 for the gzip rows, 11 for zstd, 41 for the plain tar).
#
#   ci/bench.sh [MEGABYTES]        (default 320; needs pigz, zstd and GNU tar)
#
# Targets: scan .tar.gz <= 0.6x `gzip -dc`; scan .tar.zst <= 1.0x `zstd -dc`;
# scan .tar <= 1.0x `tar -tf`; fix .tar.gz <= 1.0x `gzip -dc | pigz -6`;
# peak memory < 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-320}
for tool in pigz zstd tar gzip python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install pigz zstd)" >&2; exit 2; }
done
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/promready
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 ci/gen-rootfs-archive.py "$work/root.tar" "$size"
pigz -6 -k -c "$work/root.tar" > "$work/root.tar.gz"
zstd -q -3 -T0 -k "$work/root.tar" -o "$work/root.tar.zst"
sync                                 # no writeback during the runs
cat "$work"/root.tar* > /dev/null   # warm the page cache

# peak resident memory (KiB) of a command
peak() {
  python3 -c 'import resource,subprocess,sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' "$@"
}

row() {
  python3 ci/bench-time.py "$@"
}

echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
ls -l "$work"/root.tar* | awk '{printf "  %s %d MB\n", $9, $5/1000000}'
echo
printf '%-34s %9s %9s %8s\n' "" "baseline" "promready" "ratio"
row 5 "scan .tar.gz vs gzip -dc" 0.6 "gzip -dc $work/root.tar.gz" "$bin scan $work/root.tar.gz"
row 11 "scan .tar.zst vs zstd -dc" 1.0 "zstd -dc $work/root.tar.zst" "$bin scan $work/root.tar.zst"
row 41 "scan .tar vs tar -tf" 1.0 "tar -tf $work/root.tar" "$bin scan $work/root.tar"
row 3 "fix .tar.gz vs gzip -dc | pigz -6" 1.0 "gzip -dc $work/root.tar.gz | pigz -6 > $work/base.gz" "$bin fix -o $work/fixed.tar.gz $work/root.tar.gz"
echo
echo "peak memory (RSS): scan .tar $(( $(peak "$bin" scan "$work/root.tar") / 1024 )) MiB," \
  "scan .tar.gz $(( $(peak "$bin" scan "$work/root.tar.gz") / 1024 )) MiB," \
  "fix .tar.gz $(( $(peak "$bin" fix -o "$work/fixed.tar.gz" "$work/root.tar.gz") / 1024 )) MiB (target < 64 MiB)"
