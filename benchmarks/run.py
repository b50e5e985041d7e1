"""Benchmarks of the foundation: simulation, PROM scoring, labels, validation at scale.

Run with ``make bench`` (never part of the tests). Prints a table and, with ``--record``,
appends it to benchmarks/RESULTS.md with the command, the machine and the date.
Figures are wall-clock seconds of one run each, side by side in one process.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import resource
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
    )


def write_section(key: str, text: str) -> None:
    """Replace the RESULTS.md section between ``<!-- key:begin -->`` and
    ``<!-- key:end -->`` with ``text``, or append it when absent."""
    results = Path(__file__).with_name("RESULTS.md")
    begin, end = f"<!-- {key}:begin -->", f"<!-- {key}:end -->"
    section = f"{begin}\n{text}\n{end}"
    current = results.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    new = (
        pattern.sub(lambda _: section, current)
        if pattern.search(current)
        else current.rstrip("\n") + "\n\n" + section + "\n"
    )
    results.write_text(new, encoding="utf-8")


@contextlib.contextmanager
def base_worktree(base: str) -> Iterator[tuple[str, Path]]:
    """``(short revision, folder)``: revision ``base`` of this repository checked out into a
    temporary git worktree, removed afterwards (the comparison benchmarks' other side)."""
    root = Path(__file__).resolve().parents[1]
    rev = subprocess.run(
        ["git", "rev-parse", "--short", base], cwd=root, capture_output=True, text=True
    )
    if rev.returncode != 0:
        raise SystemExit(f"--base {base!r}: not a revision of this repository")
    short = rev.stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), short],
            cwd=root,
            check=True,
            capture_output=True,
        )
        try:
            yield short, tree
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=root, capture_output=True
            )


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1_000_000, help="patients to simulate")
    ap.add_argument("--record", action="store_true", help="append results to benchmarks/RESULTS.md")
    args = ap.parse_args()

    from prom.cohort.simulate import simulate_cohort
    from prom.cohort.validate import validate_cohort
    from prom.instruments import score_table
    from prom.outcomes import derive_labels

    rows = []

    def timed(name, fn):
        t0 = time.perf_counter()
        value = fn()
        dt_ = time.perf_counter() - t0
        rows.append((name, dt_, args.n / dt_ / 1e6 * 60))
        print(f"{name:<40} {dt_:8.2f} s  {args.n / dt_ / 1e6 * 60:8.1f} M rows/min", flush=True)
        return value

    cohort = timed(f"simulate_cohort(n={args.n:,})", lambda: simulate_cohort(args.n, seed=0))
    scores = timed("score_table (5 instruments x 4 time points)", lambda: score_table(cohort))
    scored = cohort.join(scores.drop(columns=[c for c in scores.columns if c in cohort.columns]))
    timed("derive_labels (8 tasks)", lambda: derive_labels(scored))
    timed("validate_cohort (strict)", lambda: validate_cohort(scored, mode="strict"))
    print(f"peak RSS {peak_rss_gb():.2f} GB; {cohort.shape[1]} simulated columns")

    if args.record:
        path = Path(__file__).with_name("RESULTS.md")
        lines = [
            f"\n## Foundation: simulate / score / label / validate — {dt.date.today()}\n",
            f"Command: `make bench` (`python benchmarks/run.py --n {args.n} --record`)  ",
            f"Machine: {machine()}\n",
            "| step | seconds | M rows/min |",
            "|---|---:|---:|",
        ]
        lines += [f"| {name} | {s:.2f} | {r:.1f} |" for name, s, r in rows]
        lines.append(f"\nPeak RSS of the whole run: {peak_rss_gb():.2f} GB.\n")
        with path.open("a") as f:
            f.write("\n".join(lines) + "\n")
        print(f"recorded in {path}")


if __name__ == "__main__":
    main()
