#!/usr/bin/env python3
"""Ordering mutations: weaken each memory ordering to `Relaxed`, one at a time, and record which
loom model fails.

For every `Ordering::Acquire` / `Release` / `AcqRel` / `SeqCst` outside the test modules of the
given files (default: everything under src/slot and src/gate), the script rewrites that one
occurrence to `Ordering::Relaxed`, builds the loom models once

    RUSTFLAGS="--cfg reqtrack_loom" cargo test --release -p reqtrack --test loom \
        --target-dir target/loom --no-run

runs every model in its own process (`--exact NAME --test-threads 1`, LOOM_MAX_PREEMPTIONS=2,
a timeout per model), records which fail, and restores the file (also on Ctrl-C). A baseline
run without any mutation comes first; every model must pass it. The result is a markdown table
(site, ordering, failing models) on stdout and in --out.

A site no model catches is either a missing model or an ordering that `Relaxed` serves equally
well; the table says which, it does not decide.

Slow: one release build of the library plus every loom model per site (minutes each on a
shared machine). Not part of .ci/run.

    python3 check/mutate-orderings.py                       # every site
    python3 check/mutate-orderings.py src/gate/phase_gate.rs src/slot/block.rs
    python3 check/mutate-orderings.py --only src/slot/block.rs:78
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STRONG = re.compile(r"Ordering::(Acquire|Release|AcqRel|SeqCst)\b")
TEST_MODULE = re.compile(r"^mod tests\b")
FN_NAME = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")
LOOM_ENV = {"RUSTFLAGS": "--cfg reqtrack_loom", "LOOM_MAX_PREEMPTIONS": "2"}


def sites(path):
    """(line number, column, ordering, enclosing fn) of each strong ordering before the file's
    `mod tests`."""
    found, current_fn = [], "?"
    for n, line in enumerate((ROOT / path).read_text().splitlines(), 1):
        if TEST_MODULE.match(line):
            break
        m = FN_NAME.search(line)
        if m and not line.lstrip().startswith("//"):
            current_fn = m.group(1)
        if line.lstrip().startswith("//"):
            continue
        for m in STRONG.finditer(line):
            found.append((n, m.start(), m.group(1), current_fn))
    return found


def mutate(text, line, col, ordering):
    lines = text.splitlines(keepends=True)
    old = "Ordering::" + ordering
    assert lines[line - 1][col:].startswith(old), (line, col, ordering)
    lines[line - 1] = lines[line - 1][:col] + "Ordering::Relaxed" + lines[line - 1][col + len(old):]
    return "".join(lines)


def build():
    """Builds the loom test binary; returns its path (None if the mutant does not compile)."""
    env = dict(os.environ, **LOOM_ENV)
    cmd = ["cargo", "test", "--release", "-p", "reqtrack", "--test", "loom",
           "--target-dir", "target/loom", "--no-run", "--message-format=json"]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    exe = None
    for line in p.stdout.splitlines():
        try:
            msg = json.loads(line)
        except json.JSONDecodeError:
            continue
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and \
                msg["target"]["name"] == "loom":
            exe = msg["executable"]
    if p.returncode != 0 or exe is None:
        sys.stderr.write(p.stderr[-4000:])
        return None
    return exe


def list_models(exe):
    out = subprocess.run([exe, "--list"], capture_output=True, text=True, check=True).stdout
    return [l[: -len(": test")] for l in out.splitlines() if l.endswith(": test")]


def run_model(exe, name, timeout):
    """'ok', 'FAIL' or 'timeout', and the seconds it took."""
    env = dict(os.environ, **LOOM_ENV)
    start = time.monotonic()
    try:
        p = subprocess.run([exe, "--exact", name, "--test-threads", "1"], env=env,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start
    took = time.monotonic() - start
    if p.returncode == 0:
        return "ok", took
    return "FAIL", took


def run_all(exe, models, budget):
    results = {}
    for name in models:
        results[name] = run_model(exe, name, budget.get(name, 600))
        print(f"    {name}: {results[name][0]} ({results[name][1]:.1f}s)", file=sys.stderr)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", help="files to mutate (default: src/slot/*.rs src/gate/*.rs)")
    ap.add_argument("--only", action="append", default=[], help="FILE:LINE, repeatable")
    ap.add_argument("--out", default="target/loom/ordering-mutations.md")
    ap.add_argument("--timeout-factor", type=float, default=10.0,
                    help="a model's timeout: this times its baseline seconds (at least 60 s)")
    args = ap.parse_args()

    files = args.files or sorted(str(p.relative_to(ROOT)) for d in ("src/slot", "src/gate")
                                 for p in (ROOT / d).glob("*.rs"))
    only = {tuple(o.rsplit(":", 1)) for o in args.only}
    todo = [(f, s) for f in files for s in sites(f)
            if not only or (f, str(s[0])) in only]
    print(f"{len(todo)} sites", file=sys.stderr)

    # Restore on SIGTERM as on Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))

    print("baseline build", file=sys.stderr)
    exe = build()
    if exe is None:
        sys.exit("the unmutated loom models do not build")
    models = list_models(exe)
    base = run_all(exe, models, {})
    failing = [m for m, (r, _) in base.items() if r != "ok"]
    if failing:
        sys.exit(f"baseline fails: {failing}")
    budget = {m: max(60.0, args.timeout_factor * t) for m, (_, t) in base.items()}

    rows = []
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, (line, col, ordering, fn) in todo:
        original = (ROOT / path).read_text()
        print(f"{path}:{line} {ordering} ({fn})", file=sys.stderr)
        try:
            (ROOT / path).write_text(mutate(original, line, col, ordering))
            exe = build()
            if exe is None:
                caught = "(does not compile)"
            else:
                res = run_all(exe, models, budget)
                bad = [f"`{m}`" + (" (timeout)" if r == "timeout" else "")
                       for m, (r, _) in res.items() if r != "ok"]
                caught = ", ".join(bad) if bad else "**none**"
        finally:
            (ROOT / path).write_text(original)
        rows.append(f"| `{path}:{line}` | `{fn}` | `{ordering}` | {caught} |")
        write_table(out, rows)
    print(out.read_text())


def write_table(out, rows):
    head = ["| site | fn | ordering weakened to `Relaxed` | loom models that fail |",
            "|---|---|---|---|"]
    out.write_text("\n".join(head + rows) + "\n")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the mutated file was restored")
