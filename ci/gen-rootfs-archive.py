#!/usr/bin/env python3
"""Writes a rootfs-like tar for benchmarks: tens of thousands of entries,
a realistic mix of binaries (compressing to roughly half, like ELF files)
and text (compressing well), directory entries and symlinks (about one
entry in nine, as in a distribution's tree), and the demo image's kubelet
configuration, so that the scan has work to do. Deterministic for a given
size.

usage: gen-rootfs-archive.py OUT.tar [MEGABYTES]
"""
import io
import os
import random
import sys
import tarfile

out = sys.argv[1]
target = int(sys.argv[2] if len(sys.argv) > 2 else 320) * 1024 * 1024
rng = random.Random(42)
words = (
    "kubelet apiVersion kind metadata spec containers image command args volume mount "
    "config systemd service unit environment path usr lib share doc locale man page the "
    "of and to in is it for on with as by this that be are from at or an was which"
).split()
lines = [" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) for _ in range(20000)]
corpus = ("\n".join(lines) + "\n").encode() * 2
# Binaries: code-like data, chunks drawn from a pool with zero padding runs.
pool = [rng.randbytes(64) for _ in range(4096)]
binary = b"".join(rng.choice(pool) + (b"\0" * rng.choice([0, 0, 16, 64])) for _ in range(40000))


def window(src, n):
    start = rng.randrange(0, len(src) - n)
    return src[start:start + n]


written = 0
count = 0
entries = 0
dirs = set()
demo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testdata", "demo")
with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
    tar.add(demo, arcname=".")
    while written < target:
        count += 1
        top = rng.choice(["usr/lib/x86_64-linux-gnu", "usr/share/doc", "usr/share/locale", "usr/bin", "usr/share/man/man1"])
        parent = f"./{top}/pkg{count // 40}"
        if parent not in dirs:
            dirs.add(parent)
            info = tarfile.TarInfo(parent)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            info.mtime = 1_700_000_000
            tar.addfile(info)
            entries += 1
        name = f"{parent}/file{count}"
        if rng.random() < 0.03:
            data = window(binary, rng.randint(16 * 1024, 512 * 1024))
        else:
            data = window(corpus, rng.randint(200, 8 * 1024))
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o755 if top == "usr/bin" else 0o644
        info.mtime = 1_700_000_000
        tar.addfile(info, io.BytesIO(data))
        written += len(data)
        entries += 1
        if rng.random() < 0.09:
            # Like libfoo.so -> libfoo.so.1, or an alternatives link.
            link = tarfile.TarInfo(f"{name}.link")
            link.type = tarfile.SYMTYPE
            link.linkname = f"file{count}"
            link.mode = 0o777
            link.mtime = 1_700_000_000
            tar.addfile(link)
            entries += 1
print(f"{out}: {entries} entries, {written // (1024 * 1024)} MiB of data")
