"""Checks for ci/integration/github.sh (needs PyYAML).

    github_check.py REPO WORK

1. Shape: action.yml (name, description, inputs and their defaults, a
   composite action whose `run` steps all name a `shell`, every action it uses
   pinned to a commit, upload-sarif and the cache's restore and save, exactly
   one `promready scan`, every `${{ inputs.* }}` declared and every input
   used) and the example workflow ci/github/promready.yml (`on`, a job with
   `permissions: security-events: write`, actions/checkout, the promready
   action pinned like the pre-commit configuration, only declared inputs,
   every required input given).
2. Behaviour: runs the composite action's steps as the runner does (each `run`
   with `bash --noprofile --norc -eo pipefail`, its `env:` evaluated, in the
   workspace, with GITHUB_PATH, GITHUB_OUTPUT and GITHUB_ACTION_PATH), for the
   scenarios below, so every promready and cargo command line in it runs for
   real. The upload-sarif step is not run (it needs GitHub); the SARIF it would
   upload, and its category, are checked instead. actions/cache/restore and
   save are simulated with a directory per key, shared by the scenarios, so
   that a later scenario restores what an earlier one saved.

Environment: PROMREADY_CARGO_TARGET and PROMREADY_GIT_TARGET (cached cargo
target directories for builds of the working tree and of git checkouts),
PROMREADY_CARGO_HOME (the cargo home for git installs), PROMREADY_GIT_SERVER (a
directory holding promready/promready, a git repository with the tag the
workflow pins, standing in for https://github.com).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field

import yaml

REPO, WORK = sys.argv[1], sys.argv[2]
FAILURES: list[str] = []


def check(condition: bool, message: str) -> bool:
    if not condition:
        FAILURES.append(message)
    return condition


def load(path: str) -> dict:
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return yaml.safe_load(f)


EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def pinned_action() -> tuple[str, str]:
    """The repository and rev of ci/integration/pre-commit-config.yaml."""
    config = load("ci/integration/pre-commit-config.yaml")
    repo = config["repos"][0]
    url = repo["repo"]
    check(url.startswith("https://github.com/"), f"pre-commit repo {url} is not on GitHub")
    return url.removeprefix("https://github.com/"), repo["rev"]


# 1. Shape ---------------------------------------------------------------------

action = load("action.yml")
workflow = load("ci/github/promready.yml")
slug, rev = pinned_action()

for key in ("name", "description", "inputs", "runs"):
    check(key in action, f"action.yml has no {key}")
inputs = action.get("inputs", {})
check(inputs.get("path", {}).get("required") is True, "input path must be required")
for name, default in (("format", "sarif"), ("sarif-file", "promready.sarif"), ("fail-on", "error"),
                      ("category", "")):
    check(inputs.get(name, {}).get("default") == default, f"input {name} must default to {default}")
check("version" in inputs, "action.yml has no version input")
for name, spec in inputs.items():
    check(bool(spec.get("description")), f"input {name} has no description")
runs = action.get("runs", {})
check(runs.get("using") == "composite", "runs.using must be composite")
steps = runs.get("steps", [])
used_inputs: set[str] = set()
for i, step in enumerate(steps):
    label = step.get("name", f"step {i}")
    check(("run" in step) != ("uses" in step), f"{label}: needs exactly one of run and uses")
    if "run" in step:
        check(bool(step.get("shell")), f"{label}: a run step needs shell")
    text = json.dumps(step)
    for expr in EXPR.findall(text):
        used_inputs.update(re.findall(r"inputs\.([\w-]+)", expr))
    for expr in re.findall(r"\binputs\.([\w-]+)", step.get("if", "")):
        used_inputs.add(expr)
uses = [s["uses"] for s in steps if "uses" in s]
UPLOAD, RESTORE, SAVE = ("github/codeql-action/upload-sarif", "actions/cache/restore", "actions/cache/save")
for u in uses:
    check(re.fullmatch(r"[\w./-]+@[0-9a-f]{40}", u) is not None, f"action.yml: {u} is not pinned to a commit")
for name in (UPLOAD, RESTORE, SAVE):
    check(any(u.split("@")[0] == name for u in uses), f"action.yml must use {name}")
scans = [line for s in steps for line in s.get("run", "").splitlines()
         if re.search(r"\bscan\b", line) and "promready" in line.lower() and not line.strip().startswith("#")]
check(len(scans) == 1, f"action.yml must scan once (the log output and the SARIF file together): {scans}")
check(used_inputs <= set(inputs), f"undeclared inputs used: {sorted(used_inputs - set(inputs))}")
check(set(inputs) <= used_inputs, f"inputs never used: {sorted(set(inputs) - used_inputs)}")
for expr in EXPR.findall(json.dumps(steps)):
    check(
        re.fullmatch(r"(inputs|github|runner|steps)\.[\w.-]+", expr) is not None,
        f"unexpected expression in action.yml: {expr}",
    )
for name, output in action.get("outputs", {}).items():
    check("value" in output, f"output {name} needs value (composite action)")

# PyYAML reads the key `on` as YAML 1.1's true, as GitHub does not.
on = workflow.get("on", workflow.get(True))
check(isinstance(on, dict) and bool({"push", "pull_request"} & set(on)), "workflow must run on push/pull_request")
jobs = workflow.get("jobs", {})
check(any((job.get("permissions") or {}).get("security-events") == "write" for job in jobs.values()),
      "a workflow job needs permissions: security-events: write")
check(len(jobs) >= 1, "workflow has no job")
action_step = None
workflow_uses: list[str] = []
for job_name, job in jobs.items():
    for step in job.get("steps", []):
        if "run" in step:
            check(False, f"workflow job {job_name}: the example should only use the action")
        if "uses" in step:
            workflow_uses.append(step["uses"])
            if step["uses"].split("@")[0] == slug:
                action_step = step
check(any(u.startswith("actions/checkout@") for u in workflow_uses), "workflow must use actions/checkout")
check(f"{slug}@{rev}" in workflow_uses,
      f"workflow must use {slug}@{rev} (the repository and rev of the pre-commit configuration)")
# upload-sarif is reached through the action the workflow uses.
check(action_step is not None, "the workflow must reach github/codeql-action/upload-sarif through the action")
workflow_with = (action_step or {}).get("with", {})
check(set(workflow_with) <= set(inputs), f"workflow passes undeclared inputs {sorted(set(workflow_with) - set(inputs))}")
for name, spec in inputs.items():
    if spec.get("required"):
        check(name in workflow_with, f"workflow does not give the required input {name}")

if FAILURES:
    for failure in FAILURES:
        print(f"github: FAIL: {failure}", file=sys.stderr)
    sys.exit(1)


# 2. Behaviour ----------------------------------------------------------------


@dataclass
class StepResult:
    name: str
    status: str  # success, failure, skipped
    code: int = 0
    output: str = ""


@dataclass
class Run:
    results: list[StepResult] = field(default_factory=list)
    uploaded: list[dict] = field(default_factory=list)
    # The `with:` of each upload (sarif_file, category).
    upload_inputs: list[dict] = field(default_factory=list)

    def step(self, name: str) -> StepResult:
        return next(r for r in self.results if r.name == name)

    def describe(self) -> str:
        return "\n".join(
            f"--- {r.name}: {r.status} ({r.code})\n{r.output}" for r in self.results
        )


# The action builds promready in a fresh target directory, as it must on GitHub;
# here a `cargo` wrapper first on PATH points that build at a cached target
# directory instead (the command line is unchanged), or every scenario would
# compile promready from scratch.
SHIM = os.path.join(WORK, "shim")
os.makedirs(SHIM)
with open(os.path.join(SHIM, "cargo"), "w", encoding="utf-8") as f:
    f.write(f"""#!/bin/sh
export CARGO_TARGET_DIR="$PROMREADY_SIM_TARGET"
if [ -n "$PROMREADY_SIM_CARGO_HOME" ]; then export CARGO_HOME="$PROMREADY_SIM_CARGO_HOME"; fi
exec '{shutil.which("cargo")}' "$@"
""")
os.chmod(os.path.join(SHIM, "cargo"), 0o755)

# actions/cache, simulated: one directory per key, shared by the scenarios.
CACHE_STORE = os.path.join(WORK, "actions-cache")


def run_action(scenario: str, workspace: str, given: dict[str, str], repository: str,
               cargo_target: str = "PROMREADY_CARGO_TARGET") -> Run:
    temp = os.path.join(WORK, f"runner-{scenario}")
    os.makedirs(temp)
    values = {}
    for name, spec in inputs.items():
        if name in given:
            values[name] = given[name]
        elif spec.get("required"):
            raise SystemExit(f"scenario {scenario}: required input {name} missing")
        else:
            values[name] = str(spec.get("default", ""))
    github_path = os.path.join(temp, "github_path")
    open(github_path, "w").close()
    context = {
        "github.action_path": REPO,
        "github.server_url": "file://" + os.environ["PROMREADY_GIT_SERVER"],
        "github.action_repository": repository,
        "runner.temp": temp,
        "runner.os": "Linux",
        "runner.arch": "X64",
    }
    context.update({f"inputs.{k}": v for k, v in values.items()})
    path_prepend: list[str] = []
    run = Run()
    failed = False

    def evaluate(text: str) -> str:
        def one(match: re.Match) -> str:
            expr = match.group(1)
            if expr not in context:
                raise SystemExit(f"scenario {scenario}: cannot evaluate ${{{{ {expr} }}}}")
            return context[expr]
        return EXPR.sub(one, str(text))

    def condition(text: str | None) -> bool:
        if text is None:
            return not failed
        m = re.fullmatch(r"\s*(?:\$\{\{)?\s*([\w.-]+)\s*(==|!=)\s*'([^']*)'\s*(?:\}\})?\s*", text)
        if not m:
            raise SystemExit(f"scenario {scenario}: cannot evaluate if: {text}")
        left = context[m.group(1)]
        return (not failed) and ((left == m.group(3)) == (m.group(2) == "=="))

    for i, step in enumerate(steps):
        name = step.get("name", f"step {i}")
        if not condition(step.get("if")):
            run.results.append(StepResult(name, "skipped"))
            continue
        if "uses" in step:
            with_ = {k: evaluate(v) for k, v in step.get("with", {}).items()}
            action_name = step["uses"].split("@")[0]
            if action_name == RESTORE:
                stored = os.path.join(CACHE_STORE, with_["key"])
                hit = os.path.isdir(stored)
                if hit:
                    shutil.copytree(stored, with_["path"], symlinks=True, dirs_exist_ok=True)
                context[f"steps.{step['id']}.outputs.cache-hit"] = "true" if hit else "false"
                run.results.append(StepResult(name, "success", 0, f"cache {'hit' if hit else 'miss'}: {with_['key']}"))
                continue
            if action_name == SAVE:
                stored = os.path.join(CACHE_STORE, with_["key"])
                ok = os.path.isdir(with_["path"])
                if ok and not os.path.exists(stored):
                    shutil.copytree(with_["path"], stored, symlinks=True)
                run.results.append(StepResult(name, "success" if ok else "failure", 0 if ok else 1,
                                              f"saved {with_['path']} as {with_['key']}"))
                failed = failed or not ok
                continue
            assert action_name == UPLOAD, step["uses"]
            run.upload_inputs.append(with_)
            sarif_path = os.path.join(workspace, with_["sarif_file"])
            try:
                with open(sarif_path, encoding="utf-8") as f:
                    log = json.load(f)
                ok = log.get("version") == "2.1.0" and isinstance(log.get("runs"), list)
                run.uploaded.append(log)
                run.results.append(StepResult(name, "success" if ok else "failure", 0 if ok else 1,
                                              f"would upload {sarif_path}"))
                failed = failed or not ok
            except (OSError, ValueError) as e:
                run.results.append(StepResult(name, "failure", 1, f"upload-sarif: {e}"))
                failed = True
            continue
        script = os.path.join(temp, f"step-{i}.sh")
        with open(script, "w", encoding="utf-8") as f:
            f.write(evaluate(step["run"]))
        github_output = os.path.join(temp, f"github_output-{i}")
        open(github_output, "w").close()
        env = dict(os.environ)
        env.update({
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION_PATH": REPO,
            "GITHUB_PATH": github_path,
            "GITHUB_OUTPUT": github_output,
            "GITHUB_WORKSPACE": workspace,
            "RUNNER_TEMP": temp,
            "PROMREADY_SIM_TARGET": os.environ[cargo_target],
            # Git checkouts of the stand-in server go to a cargo home in the
            # cache, not into the user's ~/.cargo/git.
            "PROMREADY_SIM_CARGO_HOME": os.environ["PROMREADY_CARGO_HOME"] if cargo_target == "PROMREADY_GIT_TARGET" else "",
        })
        env.update({k: evaluate(v) for k, v in step.get("env", {}).items()})
        env["PATH"] = os.pathsep.join(path_prepend + [SHIM, env["PATH"]])
        assert step["shell"] == "bash", step["shell"]
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
            cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, check=False,
        )
        status = "success" if proc.returncode == 0 else "failure"
        run.results.append(StepResult(name, status, proc.returncode, proc.stdout))
        failed = failed or proc.returncode != 0
        with open(github_path, encoding="utf-8") as f:
            path_prepend = [line.strip() for line in f if line.strip()][::-1]
        if "id" in step:
            with open(github_output, encoding="utf-8") as f:
                for line in f:
                    key, _, value = line.rstrip("\n").partition("=")
                    context[f"steps.{step['id']}.outputs.{key}"] = value
    return run


def workspace(name: str, layout: dict[str, str]) -> str:
    root = os.path.join(WORK, f"workspace-{name}")
    for dest, src in layout.items():
        shutil.copytree(os.path.join(REPO, src), os.path.join(root, dest), symlinks=True)
    return root


def results(log: dict) -> list[dict]:
    return [r for run in log.get("runs", []) for r in run.get("results", [])]


def expect(scenario: str, run: Run, ok: bool, message: str) -> None:
    if os.environ.get("PROMREADY_CI_VERBOSE"):
        print(f"=== scenario {scenario}: {message}: {'ok' if ok else 'FAILED'}\n{run.describe()}")
    if not ok:
        FAILURES.append(f"scenario {scenario}: {message}\n{run.describe()}")


def expected_lines(path: str) -> list[str]:
    """The findings a fixture's .expect file lists, one `CODE path:line` each."""
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def expected(path: str) -> set[str]:
    """The rule codes a fixture's .expect file lists (`CODE path:line`)."""
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        return {line.split()[0] for line in f if line.strip()}


def statuses(run: Run) -> list[str]:
    return [r.status for r in run.results]


resolve, restore, install, save, scan, upload, check_step = (s.get("name") for s in steps)
workflow_paths = workflow_with.get("path", "")
# Clean: nothing at or above warning; the self-signed certificates of the kubelet, controller
# manager and scheduler are notes (PR021, PR024, PR025), which every such node has.
layout_clean = {"clusters": "testdata/repos/prepared-layouts", "image/rootfs": "testdata/rootfs/clean-image"}
layout_bad = {"clusters": "testdata/repos/kubeadm-v1beta3-default", "image/rootfs": "testdata/demo"}
ALL = ["success"] * len(steps)
# Installed from the cache: the install and save steps are skipped.
CACHED = ["success", "success", "skipped", "skipped", "success", "success", "success"]

# A. The example workflow's inputs on a clean repository, with an empty cache:
#    promready is built and saved; every step passes and a SARIF log with notes
#    only is uploaded, with upload-sarif's own category (the input is empty).
name = "workflow-clean"
run = run_action(name, workspace(name, layout_clean), dict(workflow_with), slug)
expect(name, run, statuses(run) == ALL, "every step must pass, the install included")
expect(name, run, "cache miss" in run.step(restore).output, "the first run misses the cache")
expect(name, run, len(run.uploaded) == 1 and bool(results(run.uploaded[0]))
       and all(r.get("level") == "note" for r in results(run.uploaded[0])),
       "a SARIF log with notes only must be uploaded")
expect(name, run, run.upload_inputs and run.upload_inputs[0].get("category") == "",
       "without a category input, upload-sarif derives it (workflow, job, matrix values)")

# B. The same inputs on a repository with findings, and promready restored
#    from the cache: one scan prints the report and writes the SARIF log, the
#    log is uploaded with the findings, then the check fails the job
#    (fail-on: error).
name = "workflow-findings"
expected_codes = expected("testdata/demo.expect") | expected("testdata/repos/kubeadm-v1beta3-default.expect")
run = run_action(name, workspace(name, layout_bad), dict(workflow_with), slug)
expect(name, run, statuses(run) == CACHED[:-1] + ["failure"],
       "promready comes from the cache; scan and upload pass; the check fails")
expect(name, run, "cache hit" in run.step(restore).output, "the second run hits the cache")
expect(name, run, run.step(check_step).code == 1, "the check must exit 1")
expect(name, run, all(c in run.step(scan).output for c in expected_codes)
       and "promready: " in run.step(scan).output, "the scan step must show the report")
expect(name, run, bool(run.uploaded) and {r["ruleId"] for r in results(run.uploaded[0])} == expected_codes,
       f"the uploaded SARIF must hold the findings of both paths: {sorted(expected_codes)}")

# C. format: github, fail-on: never: annotations, no upload, the job passes.
name = "github-annotations"
run = run_action(name, workspace(name, {"image/rootfs": "testdata/demo"}),
                 {"path": "image/rootfs", "format": "github", "fail-on": "never"}, slug)
expect(name, run, statuses(run) == CACHED[:5] + ["skipped", "success"], "upload skipped, the rest passes")
expect(name, run, "::error file=image/rootfs/etc/default/kubelet" in run.step(scan).output,
       "the scan must print workflow annotations")

# D. An unknown format.
name = "bad-format"
run = run_action(name, workspace(name, {"image/rootfs": "testdata/rootfs/clean-image"}),
                 {"path": "image/rootfs", "format": "json"}, slug)
expect(name, run, run.step(scan).code == 2 and "format must be sarif or github" in run.step(scan).output,
       "an unknown format must fail the scan with a message")

# E. A path that is not there, beside one that is: the SARIF log of the other
#    is uploaded (it says the run was not successful), and the job fails with
#    exit status 2.
name = "wrong-path"
run = run_action(name, workspace(name, {"image/rootfs": "testdata/demo"}),
                 {"path": "image/rootfs image/no-such-rootfs", "fail-on": "never"}, slug)
expect(name, run, statuses(run) == CACHED[:-1] + ["failure"] and run.step(check_step).code == 2,
       "scan and upload pass, the check fails with 2")
expect(name, run, "image/no-such-rootfs: no such file or directory" in run.step(scan).output,
       "the scan step must name the wrong path")
invocation = (run.uploaded or [{}])[0].get("runs", [{}])[0].get("invocations", [{}])[0]
expect(name, run, invocation.get("executionSuccessful") is False
       and len(results(run.uploaded[0])) == len(expected_lines("testdata/demo.expect")),
       "the uploaded SARIF holds the demo's findings and says the run was not successful")

# F. Matrix jobs: each gives its category, and each upload carries its own.
for image in ("demo", "clean-image"):
    name = f"matrix-{image}"
    src = "testdata/demo" if image == "demo" else f"testdata/rootfs/{image}"
    run = run_action(name, workspace(name, {"image/rootfs": src}),
                     {"path": "image/rootfs", "category": f"promready-{image}", "fail-on": "never"}, slug)
    expect(name, run, statuses(run) == CACHED, "every step passes")
    expect(name, run, [u.get("category") for u in run.upload_inputs] == [f"promready-{image}"],
           "the upload carries the job's category")

# G. A repository whose rust-toolchain.toml names a toolchain that is not
#    installed: the install (the cache is emptied first) does not use it.
name = "foreign-toolchain"
shutil.rmtree(CACHE_STORE, ignore_errors=True)
root = workspace(name, layout_clean)
with open(os.path.join(root, "rust-toolchain.toml"), "w", encoding="utf-8") as f:
    f.write('[toolchain]\nchannel = "promready-ci-no-such-toolchain"\n')
run = run_action(name, root, dict(workflow_with), slug)
expect(name, run, statuses(run) == ALL, "the install must not read the workspace's rust-toolchain.toml")

# H. version: a git ref, installed with cargo install --git from the action's
#    repository (a local git server standing in for github.com), at the commit
#    the tag names, which is also the cache key.
name = "version"
commit = subprocess.run(["git", "-C", os.path.join(os.environ["PROMREADY_GIT_SERVER"], slug), "rev-parse",
                         f"{rev}^{{commit}}"], capture_output=True, text=True, check=True).stdout.strip()
run = run_action(name, workspace(name, layout_clean), {"path": workflow_paths, "version": rev}, slug,
                 cargo_target="PROMREADY_GIT_TARGET")
expect(name, run, statuses(run) == ALL, "installing the tag from git must work")
expect(name, run, "file://" + os.environ["PROMREADY_GIT_SERVER"] in run.step(install).output,
       "cargo must install promready from the action's git repository")
expect(name, run, f"promready-{commit}" in run.step(restore).output, "the cache key names the tag's commit")

if FAILURES:
    for failure in FAILURES:
        print(f"github: FAIL: {failure}", file=sys.stderr)
    sys.exit(1)
print(f"shape ok; scenarios ok: workflow-clean, workflow-findings (from the cache), github-annotations, "
      f"bad-format, wrong-path, matrix categories, foreign-toolchain, version ({slug}@{rev} from git)")
