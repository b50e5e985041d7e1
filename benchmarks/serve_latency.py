"""Prediction service latency: one patient, every outcome with reasons, warm — in process
and over HTTP at 16 concurrent clients, beside the calculator in the same run.

Three figures, same patient (:data:`calculator_latency.PATIENT`, every lumbar entry):

1. ``Calculator.predict`` in process (what the Streamlit app calls);
2. ``PredictionService.predict`` in process (the calculator plus the top reasons written
   out as the service returns them);
3. ``POST /v1/predict`` over loopback HTTP: ``prom serve`` started in a subprocess (the
   real command, rate limit off), ``--clients`` clients (default 16; httpx, each with its
   own connection, in one asyncio loop: less than half the CPU per request that 16 client
   threads took from the cores the server runs on) each sending its share of
   ``--requests`` (default 800); the run stops by itself. Latency per request (client
   side), throughput and the clients' own CPU per request;
4. the same with ``prom serve --workers N`` (``--workers``, default: one per core), in
   the same run.

Each in-process figure: one warm-up call, then ``--runs`` timed calls. Targets: p95 ≤ 20 ms
in process, ≤ 40 ms over HTTP. ``--record`` writes this script's section of
benchmarks/RESULTS.md. Run with ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from calculator_latency import PATIENT
from run import machine, write_section

KEY = "serve_latency.py"
TARGET_IN_PROCESS_MS = 20.0
TARGET_HTTP_MS = 40.0
TOKEN = "benchmark-token-0123456789"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
#: The request: the benchmark patient, every outcome with three reasons.
BODY = {"entries": PATIENT, "reasons": 3}
ROOT = Path(__file__).resolve().parents[1]


def _timed(fn, runs: int) -> np.ndarray:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return np.asarray(out) * 1e3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(bundle: Path, workers: int = 1, root: Path = ROOT) -> Iterator[str]:
    """``prom serve`` of ``root``'s code (``PYTHONPATH``) on ``bundle`` with ``workers``
    processes on a free loopback port, rate limit off: its URL once every worker is up
    and has answered warm-up requests; stopped on exit."""
    import httpx

    port = _free_port()
    env = {**os.environ, "PROM_SERVE_TOKEN": TOKEN, "PYTHONPATH": str(root)}
    cmd = [sys.executable, "-m", "prom.cli", "serve", "--bundle", str(bundle)]
    cmd += ["--port", str(port), "--rate", "0", "--workers", str(workers)]
    # the server's logs (its workers say when they are up); closed in the finally below
    log = tempfile.TemporaryFile()  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"prom serve from {root} exited before it answered")
            log.seek(0)
            started = log.read().count(b"Started server process")
            try:
                up = httpx.get(f"{url}/v1/health", timeout=2).status_code == 200
            except httpx.TransportError:
                up = False
            if up and started >= workers:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"prom serve from {root} did not start within 120 s")
            time.sleep(0.3)
        with httpx.Client(base_url=url, headers=HEADERS, timeout=60) as c:
            for _ in range(3 * workers):  # warm-up
                c.post("/v1/predict", json=BODY).raise_for_status()
        yield url
    finally:
        log.close()
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def load(url: str, clients: int, requests: int) -> tuple[np.ndarray, float, float]:
    """``requests`` ``POST /v1/predict`` calls from ``clients`` concurrent clients, each
    with its own connection, as separate programs would hold (httpx, one asyncio loop):
    latencies (ms), requests per second and the clients' CPU per request (ms)."""
    import httpx

    lat: list[float] = []
    share = [requests // clients + (i < requests % clients) for i in range(clients)]

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=60) as c:
            for _ in range(n):
                t = time.perf_counter()
                (await c.post("/v1/predict", json=BODY)).raise_for_status()
                lat.append(time.perf_counter() - t)

    async def run() -> None:
        await asyncio.gather(*(client(n) for n in share))

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    asyncio.run(run())
    wall = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return np.asarray(lat) * 1e3, len(lat) / wall, cpu / len(lat) * 1e3


def _http(
    bundle: Path, clients: int, requests: int, workers: int = 1
) -> tuple[np.ndarray, float, float]:
    with serving(bundle, workers) as url:
        return load(url, clients, requests)


def _row(name: str, w: np.ndarray, target: float) -> str:
    p95 = float(np.percentile(w, 95))
    verdict = "met" if p95 <= target else "**missed**"
    return (
        f"| {name} | {len(w)} | {np.percentile(w, 50):.1f} | **{p95:.1f}** | {w.max():.1f} | "
        f"≤ {target:g}: {verdict} |"
    )


def main(argv: list[str] | None = None) -> int:
    from prom.bundle import load_bundle
    from prom.calculator import DEMO_BUNDLE_PATH, Calculator
    from prom.service import PatientRequest, PredictionService

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", type=Path, default=DEMO_BUNDLE_PATH)
    ap.add_argument("--runs", type=int, default=300, help="timed in-process calls")
    ap.add_argument("--clients", type=int, default=16, help="concurrent HTTP clients")
    ap.add_argument("--requests", type=int, default=800, help="HTTP requests in all")
    ap.add_argument(
        "--workers", type=int, default=os.cpu_count() or 2, help="server processes, 4th row"
    )
    ap.add_argument("--record", action="store_true", help="write the section of RESULTS.md")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    calc = Calculator(load_bundle(args.bundle))
    service = PredictionService([calc])
    request = PatientRequest(entries=PATIENT, reasons=3)
    calc_ms = _timed(lambda: calc.predict(PATIENT), args.runs)
    service_ms = _timed(lambda: service.predict(request), args.runs)
    http_ms, throughput, client_cpu = _http(args.bundle, args.clients, args.requests)
    many_ms, many_throughput, many_cpu = _http(
        args.bundle, args.clients, args.requests, args.workers
    )
    command = "python benchmarks/serve_latency.py" + (" --record" if args.record else "")
    text = "\n".join(
        [
            f"## Prediction service: one patient, every outcome with reasons — {dt.date.today()}",
            "",
            f"Command: `{command}`  ",
            f"Machine: {machine()}",
            "",
            "| | calls | p50 (ms) | p95 (ms) | max (ms) | target p95 |",
            "|---|---:|---:|---:|---:|---|",
            _row("`Calculator.predict`, in process", calc_ms, TARGET_IN_PROCESS_MS),
            _row("`PredictionService.predict`, in process", service_ms, TARGET_IN_PROCESS_MS),
            _row(
                f"`POST /v1/predict`, HTTP, {args.clients} concurrent clients",
                http_ms,
                TARGET_HTTP_MS,
            ),
            _row(
                f"`POST /v1/predict`, HTTP, {args.clients} concurrent clients, "
                f"`--workers {args.workers}`",
                many_ms,
                TARGET_HTTP_MS,
            ),
            "",
            (
                f"HTTP throughput over loopback: {throughput:.0f} requests/s from one "
                f"process, {many_throughput:.0f} requests/s from {args.workers} worker "
                f"processes. The load generator (the {args.clients} clients, one asyncio "
                f"loop in the benchmark's process) used {client_cpu:.1f} and {many_cpu:.1f} "
                "ms of CPU per request, on the same cores. 1-min load average before the "
                f"run: {load_before:.1f} on {os.cpu_count()} cores."
            ),
        ]
    )
    print(text)
    if args.record:
        write_section(KEY, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
