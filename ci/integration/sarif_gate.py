"""Gates for ci/integration/sarif.sh (standard library only).

    sarif_gate.py validator OUT.sarif
        Prints every result of the SARIF validator's own log whose effective
        level is error or warning (rule id, file, message); exit 1 if any.

    sarif_gate.py locations CWD FILE.sarif...
        GitHub code scanning ignores `uriBaseId`/`originalUriBaseIds` and reads a
        relative `artifactLocation.uri` as a path from the repository root
        (github/codeql-action#2215). For a scan run in CWD (the repository
        root in a workflow), prints every location whose uri, read that way,
        names no file under CWD; exit 1 if any.
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import unquote, urlparse


def effective_level(result: dict, rules: list[dict]) -> str:
    if "level" in result:
        return result["level"]
    index = result.get("ruleIndex", result.get("rule", {}).get("index"))
    if isinstance(index, int) and 0 <= index < len(rules):
        level = rules[index].get("defaultConfiguration", {}).get("level")
        if level:
            return level
    return "warning"


def message_text(result: dict, rules: list[dict]) -> str:
    message = result.get("message", {})
    if "text" in message:
        return message["text"]
    # The validator's messages are templates: messageStrings[id] with {0}, {1}...
    index = result.get("ruleIndex")
    template = None
    if isinstance(index, int) and 0 <= index < len(rules):
        strings = rules[index].get("messageStrings", {})
        template = strings.get(message.get("id", ""), {}).get("text")
    args = message.get("arguments", [])
    if template:
        try:
            return template.format(*args)
        except (IndexError, KeyError):
            pass
    return f"{message.get('id', '')} {args}"


def result_file(result: dict) -> str:
    for location in result.get("locations", []):
        uri = location.get("physicalLocation", {}).get("artifactLocation", {}).get("uri")
        if uri:
            return os.path.basename(unquote(urlparse(uri).path))
    return "?"


def validator(out: str) -> int:
    with open(out, encoding="utf-8-sig") as f:
        log = json.load(f)
    # (level, rule, message) -> the validated files it was reported in
    problems: dict[tuple[str, str, str], set[str]] = {}
    for run in log.get("runs", []):
        rules = run.get("tool", {}).get("driver", {}).get("rules", [])
        for result in run.get("results", []):
            level = effective_level(result, rules)
            if level in ("error", "warning"):
                key = (level, result.get("ruleId", "?"), message_text(result, rules))
                problems.setdefault(key, set()).add(result_file(result))
    for (level, rule, message), files in sorted(problems.items()):
        print(f"{level} {rule}: {message} [{len(files)} log(s): {', '.join(sorted(files))}]")
    return 1 if problems else 0


def locations(cwd: str, files: list[str]) -> int:
    problems: dict[str, list[str]] = {}
    for path in files:
        with open(path, encoding="utf-8") as f:
            log = json.load(f)
        for run in log.get("runs", []):
            for result in run.get("results", []):
                for kind in ("locations", "relatedLocations"):
                    for location in result.get(kind, []):
                        artifact = location.get("physicalLocation", {}).get("artifactLocation", {})
                        uri = artifact.get("uri")
                        if uri is None:
                            continue
                        parsed = urlparse(uri)
                        if parsed.scheme == "file":
                            target = unquote(parsed.path)
                        elif parsed.scheme:
                            continue
                        else:
                            target = os.path.join(cwd, unquote(uri))
                        if not os.path.lexists(target):
                            base = artifact.get("uriBaseId")
                            problems.setdefault(os.path.basename(path), []).append(
                                f"{uri!r}" + (f" (uriBaseId {base})" if base else "")
                            )
    for name, uris in sorted(problems.items()):
        unique = sorted(set(uris))
        print(f"{name}: {len(uris)} location(s) name no file from the repository root, "
              f"e.g. {', '.join(unique[:2])}")
    return 1 if problems else 0


def main() -> int:
    if len(sys.argv) >= 3 and sys.argv[1] == "validator":
        return validator(sys.argv[2])
    if len(sys.argv) >= 4 and sys.argv[1] == "locations":
        return locations(sys.argv[2], sys.argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
