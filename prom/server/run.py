"""Running the service with uvicorn: its own access log off (it would log query strings),
:mod:`prom.server.guard`'s paths-only log on.

:func:`run` serves an application in this process. :func:`run_workers` serves from
several worker processes on one port: each worker verifies and loads the bundles itself
(:func:`worker_app`), from settings the parent leaves in its environment
(:data:`WORKER_SETTINGS_ENV`, :data:`WORKER_TOKEN_ENV`), since a worker is a new
interpreter and a loaded service cannot be handed over. One process answers one
prediction at a time on one core; workers answer side by side.

Each worker listens on a socket of its own bound with ``SO_REUSEPORT`` (Linux, macOS), so
the kernel spreads new connections over the workers. With one listening socket shared by
every worker (uvicorn's own supervisor), the worker that wakes first accepts every
connection waiting — 16 clients connecting at once all landed on one of two workers,
which then answered alone for as long as the clients kept their connections open. Where
``SO_REUSEPORT`` does not exist, uvicorn's supervisor is used. (Linux lets only sockets
of the same user share a port this way: another user's process cannot join in.)
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import socket
import tempfile
from collections.abc import Sequence
from typing import Any

__all__ = [
    "run",
    "run_workers",
    "worker_app",
    "port_problem",
    "WorkerStartError",
    "LOG_CONFIG",
]

#: The worker processes' settings (JSON: bundle paths, trust store, limits).
WORKER_SETTINGS_ENV = "PROM_SERVE_WORKER_SETTINGS"
#: The token the worker processes check (set by :func:`run_workers` for its children).
WORKER_TOKEN_ENV = "PROM_SERVE_WORKER_TOKEN"

#: uvicorn's loggers plus the service's, to stderr; no uvicorn access log.
LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    # the process id tells the worker processes of ``--workers`` apart
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s"}
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "prom.server": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
    },
}


def run(app: Any, host: str = "127.0.0.1", port: int = 8000, *, workers_note: str = "") -> None:
    """Serve ``app`` (:func:`prom.server.create_app`) on ``host:port`` until interrupted."""
    import uvicorn

    logging.getLogger("prom.server").info(
        "serving on http://%s:%s%s", host, port, f" ({workers_note})" if workers_note else ""
    )
    uvicorn.run(app, host=host, port=port, access_log=False, log_config=LOG_CONFIG)


class WorkerStartError(RuntimeError):
    """A worker process of :func:`run_workers` could not load the bundles, or stopped on
    its own: the service stopped (the message says why)."""


def run_workers(
    bundles: Sequence[str | os.PathLike[str]],
    token: str,
    *,
    trust_store: str | os.PathLike[str] | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 2,
    max_body: int,
    rate: float,
    burst: int,
    fhir_base: str | None = None,
) -> None:
    """Serve ``bundles`` from ``workers`` processes on ``host:port`` until interrupted.
    The size and rate limits hold per worker process.

    A worker that cannot verify and load the bundles (one changed or removed since the
    command checked it) writes why to a file only this run reads and stops the whole
    service, instead of being restarted over and over; this function then raises
    :class:`WorkerStartError` with that reason.
    """
    import uvicorn

    fd, failure = tempfile.mkstemp(prefix="prom-serve-", suffix=".failure")
    os.close(fd)
    try:
        os.environ[WORKER_SETTINGS_ENV] = json.dumps(
            {
                "bundles": [os.path.abspath(b) for b in bundles],
                "trust_store": None if trust_store is None else os.path.abspath(trust_store),
                "max_body": max_body,
                "rate": rate,
                "burst": burst,
                "fhir_base": fhir_base,
                "failure_file": failure,
            }
        )
        os.environ[WORKER_TOKEN_ENV] = token
        logging.getLogger("prom.server").info(
            "serving on http://%s:%s (%d worker processes)", host, port, workers
        )
        stopped = None
        if hasattr(socket, "SO_REUSEPORT"):
            stopped = _supervise(host, port, workers)
        else:
            uvicorn.run(
                "prom.server.run:worker_app",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                access_log=False,
                log_config=LOG_CONFIG,
            )
        with open(failure, encoding="utf-8") as f:  # once per reason, not per worker
            why = "; ".join(dict.fromkeys(line for line in f.read().splitlines() if line))
        why = why or stopped or ""
    finally:
        os.unlink(failure)
    if why:
        raise WorkerStartError(why)


def _supervise(host: str, port: int, workers: int) -> str | None:
    """Start ``workers`` processes of :func:`_serve_one` and wait: SIGINT or SIGTERM, or a
    worker that stops, stops them all (each finishes its requests in hand). Returns why a
    worker stopped on its own, or ``None`` after a signal."""
    import multiprocessing
    from multiprocessing.connection import wait

    log = logging.getLogger("prom.server")
    stop: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        stop.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_serve_one, args=(host, port)) for _ in range(workers)]
    why = None
    try:
        for proc in procs:
            proc.start()
        while not stop:
            ended = wait([p.sentinel for p in procs], timeout=0.5)
            if ended:
                gone = next(p for p in procs if p.sentinel in ended)
                gone.join()
                why = f"worker process {gone.pid} stopped (exit code {gone.exitcode})"
                log.error("%s; stopping the service", why)
                break
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # SIGTERM: uvicorn finishes the requests in hand
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return why


def _serve_one(host: str, port: int) -> None:
    """One worker: its own listening socket (``SO_REUSEPORT``: the kernel balances new
    connections between the workers' sockets) and a uvicorn server of :func:`worker_app`."""
    import uvicorn

    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    config = uvicorn.Config(
        "prom.server.run:worker_app",
        factory=True,
        host=host,
        port=port,
        access_log=False,
        log_config=LOG_CONFIG,
    )
    # Ctrl-C: uvicorn shuts down, then raises the signal again; the worker ends quietly
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])


def worker_app() -> Any:
    """The application of one worker process of :func:`run_workers`: the bundles verified
    and loaded again in this process. A bundle refused here stops the service (the
    reason goes to the parent, which is asked to stop)."""
    from prom.bundle import BundleError
    from prom.server.app import create_app
    from prom.service import load_service

    settings = json.loads(os.environ[WORKER_SETTINGS_ENV])
    try:
        service = load_service(
            settings["bundles"],
            trust_store=settings["trust_store"],
            fhir_base=settings["fhir_base"],
        )
    except (BundleError, OSError) as e:
        why = f"a worker process could not load the bundles: {e}"
        logging.getLogger("prom.server").error("%s; stopping the service", why)
        with open(settings["failure_file"], "a", encoding="utf-8") as f:
            f.write(why + "\n")
        os.kill(os.getppid(), signal.SIGTERM)  # the supervisor stops every worker
        raise SystemExit(2) from None
    return create_app(
        service,
        os.environ[WORKER_TOKEN_ENV],
        max_body=settings["max_body"],
        rate=settings["rate"],
        burst=settings["burst"],
    )


def port_problem(host: str, port: int) -> str | None:
    """Why the service could not listen on ``host:port`` now (the port is taken, the host
    is no address of this machine), or ``None``: checked by binding and closing a socket
    the way uvicorn will, before the bundles are verified, so that the answer comes at
    once and in the command's words rather than after start-up in uvicorn's."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        return f"--host {host}: not an address this machine can listen on ({e})"
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            s.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is in use (another server is listening there); "
                    "stop it or choose another with --port"
                )
            return f"cannot listen on {host}:{port}: {e.strerror or e}"
    return None
