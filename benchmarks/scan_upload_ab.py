"""The calculator's scan upload, this checkout against another: seconds per upload.

``scan_features_from_upload`` of one SPIDER volume (NIfTI, radiomics on, index level
L4/L5), ``--calls`` times in one fresh Python process per checkout and round, the two
checkouts alternating for ``--rounds`` rounds on the same machine. Reports the first call
of each process (cold: libraries and the backbone load) and the later calls (warm), and
checks that both checkouts return the same index-level values. Written for the change
that moved the upload's imaging work into a process of its own
(:mod:`radiomics_features.pipeline.isolation`); ``--baseline`` is a checkout of the code
before it (``git worktree add ../old <rev>``). ``--record`` writes this script's section
of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import machine, write_section

KEY = "scan_upload_ab.py"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCAN = ROOT.parent / "shared" / "data" / "spider-t2-lumbar" / "spider_022_t2.nii.gz"
CHILD = r"""
import json, sys, time
from pathlib import Path
from prom.calculator.imaging import scan_features_from_upload
path = Path(sys.argv[1]); data = path.read_bytes(); times = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    res = scan_features_from_upload([(path.name, data)], "l4_l5", radiomics=True)
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "values": json.dumps(res.index_values, sort_keys=True)}))
"""


def _run(root: Path, scan: Path, calls: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(scan), str(calls)],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(root.parent),
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="checkout of the earlier code")
    ap.add_argument("--scan", type=Path, default=DEFAULT_SCAN)
    ap.add_argument("--calls", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args(argv)
    roots = {"baseline": args.baseline.resolve(), "this checkout": ROOT}
    first: dict[str, list[float]] = {k: [] for k in roots}
    warm: dict[str, list[float]] = {k: [] for k in roots}
    values: dict[str, set[str]] = {k: set() for k in roots}
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        for name, root in roots.items():
            r = _run(root, args.scan, args.calls)
            first[name].append(r["times"][0])
            warm[name] += r["times"][1:]
            values[name].add(r["values"])
    same = len(values["baseline"] | values["this checkout"]) == 1
    rows = [
        f"| {name} | {statistics.median(first[name]):.2f} | {statistics.median(warm[name]):.2f} "
        f"| {len(warm[name])} |"
        for name in roots
    ]
    ratio = statistics.median(warm["this checkout"]) / statistics.median(warm["baseline"])
    text = "\n".join(
        [
            "## Calculator scan upload: this checkout against an earlier revision",
            "",
            f"Command: `python benchmarks/scan_upload_ab.py --baseline {args.baseline}"
            + (" --record`" if args.record else "`"),
            f"Machine: {machine()}",
            "",
            (
                f"`scan_features_from_upload` of `{args.scan.name}` (radiomics on, L4/L5), "
                f"{args.calls} calls per process, {args.rounds} rounds alternating the two "
                f"checkouts. Medians in seconds. 1-min load average before: {load:.1f}."
            ),
            "",
            "| code | first call of a process | later calls | later calls timed |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            (
                f"Later calls, this checkout / baseline: {ratio:.2f}. Index-level values "
                f"{'identical' if same else 'DIFFERENT'} between the two."
            ),
        ]
    )
    print(text)
    if args.record:
        write_section(KEY, text)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
