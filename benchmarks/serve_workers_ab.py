"""``prom serve --workers 2`` over HTTP: this checkout against an earlier revision, in
alternating phases of one run.

Both revisions serve the demonstration bundle from two worker processes on loopback ports
of their own (the earlier one from a temporary git worktree of ``--base``, default
``HEAD``), started and warmed up as :func:`serve_latency.serving` does. Then, ``--rounds`` times (default 3), each server in turn (``A B``, ``B A``, …)
answers a phase of ``--requests`` (default 240) ``POST /v1/predict`` calls for
:data:`calculator_latency.PATIENT` from ``--clients`` (default 16) concurrent clients,
each holding its own connection (:func:`serve_latency.load`). Printed per phase and as the
median over phases: p95 latency and requests per second.

``--record`` writes this script's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import base_worktree, machine, write_section
from serve_latency import ROOT, load, serving

KEY = "serve_workers_ab.py"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="git revision to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=240, help="requests per phase")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--record", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args(argv)
    phases: dict[str, list[tuple[float, float]]] = {"base": [], "this": []}
    with base_worktree(args.base) as (base_rev, tree), contextlib.ExitStack() as stack:
        url = {
            name: stack.enter_context(serving(root / "prom" / "data" / "demo_bundle", 2, root))
            for name, root in (("base", tree), ("this", ROOT))
        }
        for r in range(args.rounds):
            for name in ("base", "this") if r % 2 == 0 else ("this", "base"):
                lat, rate, _ = load(url[name], args.clients, args.requests)
                phases[name].append((float(np.percentile(lat, 95)), rate))
                print(f"{name}: p95 {phases[name][-1][0]:.0f} ms, {rate:.0f} requests/s")
    command = "python benchmarks/serve_workers_ab.py" + (
        f" --base {args.base}" if args.base != "HEAD" else ""
    )
    command += " --record" if args.record else ""
    rows = [
        f"| {label} | {', '.join(f'{p:.0f}' for p, _ in phases[k])} | "
        f"{np.median([p for p, _ in phases[k]]):.0f} | "
        f"{', '.join(f'{t:.0f}' for _, t in phases[k])} | {np.median([t for _, t in phases[k]]):.0f} |"
        for k, label in (("base", f"base {base_rev}"), ("this", "this checkout"))
    ]
    text = "\n".join(
        [
            "## `prom serve --workers 2` over HTTP: this checkout against an earlier revision",
            "",
            (
                f"Command: `{command}` (base {base_rev}; {args.clients} clients with their "
                f"own connections, {args.requests} requests per phase, phases alternating)  "
            ),
            f"Machine: {machine()}",
            "",
            "| revision | p95 per phase (ms) | median | requests/s per phase | median |",
            "|---|---|---:|---|---:|",
            *rows,
        ]
    )
    print(text)
    if args.record:
        write_section(KEY, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
