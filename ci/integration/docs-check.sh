#!/usr/bin/env bash
# docs/integrations.md shows files, not copies: every fenced code block marked
# with `<!-- from: PATH -->` on the line before must equal the file at PATH
# (relative to the repository) byte for byte, the page must show the three
# files the integration tests run, and the snippets must pin the version in
# Cargo.toml.
# shellcheck source=ci/integration/lib.sh
source "$(dirname "$0")/lib.sh"

python3 - "$REPO" <<'PY'
import pathlib
import re
import sys

repo = pathlib.Path(sys.argv[1])
page = repo / "docs/integrations.md"
lines = page.read_text(encoding="utf-8").split("\n")
problems = []
shown = set()
i = 0
while i < len(lines):
    marker = re.fullmatch(r"<!-- from: (\S+) -->", lines[i].strip())
    if not marker:
        i += 1
        continue
    path = marker.group(1)
    fence = re.fullmatch(r"(```+|~~~+)[\w+-]*", lines[i + 1] if i + 1 < len(lines) else "")
    if not fence:
        problems.append(f"line {i + 1}: <!-- from: {path} --> is not followed by a code fence")
        i += 1
        continue
    end = next((j for j in range(i + 2, len(lines)) if lines[j] == fence.group(1)), None)
    if end is None:
        problems.append(f"line {i + 2}: the code block for {path} is not closed")
        break
    block = "\n".join(lines[i + 2:end]) + "\n"
    file = repo / path
    if not file.is_file():
        problems.append(f"line {i + 1}: {path} does not exist")
    else:
        text = file.read_text(encoding="utf-8")
        if block != text:
            problems.append(
                f"line {i + 3}: the code block differs from {path}; paste the file again "
                f"(it ends with one newline)"
            )
    shown.add(path)
    i = end + 1

for path in ("ci/integration/pre-commit-config.yaml", "ci/packer/promready.pkr.hcl", "ci/github/promready.yml"):
    if path not in shown:
        problems.append(f"no <!-- from: {path} --> block")

version = re.search(r'^version\s*=\s*"([^"]+)"', (repo / "Cargo.toml").read_text(), re.M).group(1)
config = (repo / "ci/integration/pre-commit-config.yaml").read_text()
workflow = (repo / "ci/github/promready.yml").read_text()
slug = re.search(r"repo: https://github.com/(\S+)", config).group(1)
if not re.search(rf"^\s*rev: v{re.escape(version)}$", config, re.M):
    problems.append(f"ci/integration/pre-commit-config.yaml must pin rev: v{version} (Cargo.toml)")
if f"uses: {slug}@v{version}" not in workflow:
    problems.append(f"ci/github/promready.yml must use {slug}@v{version} (Cargo.toml, pre-commit config)")

for problem in problems:
    print(f"docs-check: FAIL: docs/integrations.md: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
ok "docs/integrations.md shows ci/integration/pre-commit-config.yaml, ci/packer/promready.pkr.hcl and ci/github/promready.yml verbatim, pinned to v$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO/Cargo.toml" | head -1)"
