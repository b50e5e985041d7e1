"""One patient through the prediction service: this checkout against an earlier revision,
call by call in one run.

This machine changes speed between phases (the same code measures 20 ms per call in one
minute and 35 ms in the next), so two benchmark runs minutes apart cannot say whether a
change made the service faster. Here the two revisions answer alternately: ``--base``
(default ``HEAD``, the last commit) is checked out into a temporary git worktree, one
worker process per revision loads the demonstration bundle and makes a warm-up call, and
then the driver asks them in turn (``A B B A A B …``) to answer
:data:`calculator_latency.PATIENT` through ``PredictionService.predict`` with three reasons,
so neighbouring calls share the machine's state. Each call's thread CPU time is measured
in its worker. Printed: p50 and p95 per revision and the ratio of their p50s (this
checkout over the base; below 1: faster). The answers of both are compared too (equal
JSON, or a note that they differ).

``--record`` writes this script's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import base_worktree, machine, write_section

KEY = "service_ab.py"
ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[1] + "/benchmarks")
from calculator_latency import PATIENT
from prom.bundle import load_bundle
from prom.calculator import DEMO_BUNDLE_PATH, Calculator
from prom.service import PatientRequest, PredictionService
service = PredictionService([Calculator(load_bundle(DEMO_BUNDLE_PATH))])
request = PatientRequest(entries=PATIENT, reasons=3)
answer = service.predict(request)
for _ in range(10):
    service.predict(request)
answer.pop("bundle_id", None)
print(json.dumps(answer, sort_keys=True), flush=True)
for _ in sys.stdin:
    t = time.thread_time()
    service.predict(request)
    print(time.thread_time() - t, flush=True)
"""


def _worker(root: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        cwd=root,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="git revision to compare with")
    ap.add_argument("--calls", type=int, default=300, help="timed calls per revision")
    ap.add_argument("--record", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args(argv)
    with base_worktree(args.base) as (base_rev, tree):
        workers = [_worker(tree), _worker(ROOT)]
        answers = [w.stdout.readline() for w in workers]  # type: ignore[union-attr]
        times: list[list[float]] = [[], []]
        for i in range(2 * args.calls):
            k = (i + i // 2) % 2  # A B B A A B B A …
            w = workers[k]
            w.stdin.write("go\n")  # type: ignore[union-attr]
            times[k].append(float(w.stdout.readline()) * 1e3)  # type: ignore[union-attr]
        for w in workers:
            w.stdin.close()  # type: ignore[union-attr]
            w.wait()
    base, head = (np.asarray(t) for t in times)
    same = json.loads(answers[0]) == json.loads(answers[1])
    command = "python benchmarks/service_ab.py" + (
        f" --base {args.base}" if args.base != "HEAD" else ""
    )
    command += " --record" if args.record else ""
    ratio = np.median(head) / np.median(base)
    rows = [
        f"| {name} | {len(t)} | {np.median(t):.2f} | {np.percentile(t, 95):.2f} |"
        for name, t in ((f"base {base_rev}", base), ("this checkout", head))
    ]
    text = "\n".join(
        [
            "## Prediction service, one patient: this checkout against an earlier revision",
            "",
            f"Command: `{command}` (base {base_rev})  ",
            f"Machine: {machine()}; 1-min load average {os.getloadavg()[0]:.1f} after the run",
            "",
            "| revision | calls | p50 CPU (ms) | p95 CPU (ms) |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            f"Ratio of the p50s (this checkout / base): **{ratio:.3f}**, calls alternating "
            "in one run. Answers for the benchmark patient: "
            + ("the same JSON." if same else "**different** (compare them before recording)."),
        ]
    )
    print(text)
    if args.record:
        write_section(KEY, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
