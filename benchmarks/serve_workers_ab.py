"""``prom serve --workers 2`` over HTTP: this checkout against an earlier revision, in
alternating phases of one run.

Both revisions serve the demonstration bundle from two worker processes on loopback ports
of their own (the earlier one from a temporary git worktree of ``--base``, default
``HEAD``). Then, ``--rounds`` times (default 3), each server in turn (``A B``, ``B A``, …)
answers a phase of ``--requests`` (default 240) ``POST /v1/predict`` calls for
:data:`calculator_latency.PATIENT` from ``--clients`` (default 16) concurrent clients,
each holding its own connection (httpx, one asyncio loop). Printed per phase and as the
median over phases: p95 latency and requests per second.

``--record`` writes this script's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calculator_latency import PATIENT
from run import base_worktree, machine, write_section

KEY = "serve_workers_ab.py"
ROOT = Path(__file__).resolve().parents[1]
TOKEN = "benchmark-token-0123456789"


def _start(root: Path, log: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "PROM_SERVE_TOKEN": TOKEN, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "prom.cli", "serve", "--bundle"]
    cmd += [str(root / "prom" / "data" / "demo_bundle"), "--port", str(port)]
    cmd += ["--rate", "0", "--workers", "2"]
    with log.open("w") as err:
        proc = subprocess.Popen(cmd, env=env, stderr=err, stdout=subprocess.DEVNULL, cwd=root)
    deadline = time.monotonic() + 120
    while log.read_text(encoding="utf-8").count("Started server process") < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"prom serve from {root} did not start: see {log}")
        time.sleep(0.3)
    return proc, f"http://127.0.0.1:{port}"


async def _phase(url: str, requests: int, clients: int) -> tuple[np.ndarray, float]:
    import httpx

    lat: list[float] = []
    body = {"entries": PATIENT, "reasons": 3}
    headers = {"Authorization": f"Bearer {TOKEN}"}

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as c:
            for _ in range(n):
                t = time.perf_counter()
                (await c.post("/v1/predict", json=body)).raise_for_status()
                lat.append(time.perf_counter() - t)

    share = [requests // clients + (i < requests % clients) for i in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(client(n) for n in share))
    return np.asarray(lat) * 1e3, len(lat) / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD", help="git revision to compare with")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=240, help="requests per phase")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--record", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args(argv)
    phases: dict[str, list[tuple[float, float]]] = {"base": [], "this": []}
    with base_worktree(args.base) as (base_rev, tree):
        servers = {}
        try:
            servers["base"] = _start(tree, tree.parent / "base.log")
            servers["this"] = _start(ROOT, tree.parent / "this.log")
            for r in range(args.rounds):
                for name in ("base", "this") if r % 2 == 0 else ("this", "base"):
                    lat, rate = asyncio.run(_phase(servers[name][1], args.requests, args.clients))
                    phases[name].append((float(np.percentile(lat, 95)), rate))
                    print(f"{name}: p95 {phases[name][-1][0]:.0f} ms, {rate:.0f} requests/s")
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=30)
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
