"""A user's image read in a process of its own, so a crash in native code loses one case.

SimpleITK (ITK, GDCM), onnxruntime and pyradiomics parse and process the user's files in
C and C++. A file built to crash one of them, or damaged in a way they do not expect,
can stop the process that reads it with a signal — no Python exception, no error row:
the calculator's server would go down for every user, and ``prom features`` would stop
mid-batch with nothing written. Here the work on such files runs in processes of its
own, started by a clean fork server (:func:`_context`):

- :func:`call_isolated` runs one call in a fresh process and returns its result or
  raises its exception; if the process dies instead (a signal, an exit without an
  answer) or runs past its time limit, :class:`WorkerDied` (a ``ValueError``) says so;
- :func:`run_isolated_jobs` runs many calls in a pool of worker processes (started once,
  so libraries and models load once per worker), at most one call per worker at a time.
  When a worker dies the pool is lost with every call then running; each of those is
  run again alone (:func:`call_isolated`), so the call that crashes is told from the
  ones that merely shared its pool, and the rest go on in a new pool.

Only our own code's results come back from the children (through ``multiprocessing``'s
pipes); nothing the user handed over is unpickled.
"""

from __future__ import annotations

import ast
import multiprocessing
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from functools import lru_cache
from pathlib import Path
from typing import Any

from radiomics_features.io.errors import ImagingInputError

__all__ = ["WorkerDied", "call_isolated", "run_isolated_jobs"]


#: Imported once by the fork server, so a new process starts with them loaded.
_PRELOAD = ["radiomics_features.pipeline.case"]


@lru_cache(maxsize=1)
def _main_imports() -> tuple[str, ...]:
    """The modules the main program imports, for the fork server to import first (found
    once: the main script does not change, and only the server's start reads them).

    Every child first runs the main program again (as ``__mp_main__``, so that anything
    defined there can be unpickled). For a console script that is ``from prom.cli import
    main`` or ``from streamlit.web.cli import main``: up to a second of imports in every
    child unless the fork server has them already. ``set_forkserver_preload(["__main__"])``
    is meant to do this, but Python 3.11 never passes the main path to the server. So the
    server imports here the modules named in the main script's import statements that
    this process has loaded (a program run with ``-m``: that module, whose own imports
    then come with it).
    """
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return () if spec.name.endswith("__main__") else (spec.name,)
    script = getattr(main, "__file__", None)
    if not isinstance(script, str):
        return ()  # no main script: an interactive session, ``python -c``
    try:
        tree = ast.parse(Path(script).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return ()  # not readable as Python (a frozen program): children import it anyway
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return tuple(
        sorted(n for n in names if getattr(sys.modules.get(n), "__file__", None) is not None)
    )


def _context():
    """Where new processes come from: a fork server that has imported the imaging stack
    (a fresh process in tens of milliseconds instead of a second of imports), else plain
    spawning (platforms without ``fork``). Either way a child shares no state with this
    process: the fork server is a clean process started for the purpose."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([*_PRELOAD, *_main_imports()])
        return ctx
    return multiprocessing.get_context("spawn")


class WorkerDied(ImagingInputError):
    """The process working on a case stopped without an answer, or ran out of time."""


def died_message(what: str, exitcode: int | None) -> str:
    """Why the process working on ``what`` gave no answer, by how it ended: a signal is a
    crash in native code on this input; an exit code is the process failing on its own
    (it printed why on its error output), not a verdict on the input."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = str(-exitcode)
        return (
            f"the process reading {what} was stopped by signal {name}: a native library (the "
            "image reader, the segmentation or the texture features) crashed on this input, "
            "which is damaged or not an image it can handle. Nothing of it was used; the rest "
            "of the work is unaffected. Check the file (open it in a DICOM or NIfTI viewer), "
            "or export it again"
        )
    return (
        f"the process reading {what} exited with code {exitcode} before answering; its "
        "error output says why (this is not a verdict on the input)"
    )


def _child(conn, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
    try:
        answer: tuple[bool, Any] = (True, fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - every exception goes back to the parent
        answer = (False, exc)
    try:
        conn.send(answer)
    except Exception as exc:  # noqa: BLE001 - an answer that cannot be pickled
        conn.send((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def call_isolated(
    fn: Callable[..., Any],
    /,
    *args: Any,
    what: str = "the file",
    timeout: float | None = None,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` in a fresh process: its result, or its exception
    raised here. :class:`WorkerDied` (naming ``what``) when the process dies without an
    answer or is still working after ``timeout`` seconds (it is then stopped). ``fn`` and
    the arguments must be picklable (a module-level function)."""
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, fn, args, kwargs), daemon=True)
    proc.start()
    send.close()
    try:
        if not receive.poll(timeout):
            proc.terminate()
            proc.join()
            raise WorkerDied(
                f"the process reading {what} was still working after {timeout:g} s and was "
                "stopped; a file that keeps a reader busy this long is damaged or far larger "
                "than a lumbar MRI"
            )
        try:
            ok, value = receive.recv()
        except EOFError:  # the child died before answering
            proc.join()
            raise WorkerDied(died_message(what, proc.exitcode)) from None
        proc.join(5)  # it has answered and is exiting
    finally:  # an answer, or an interrupt here (Ctrl-C): no child is left behind
        receive.close()
        if proc.is_alive():
            proc.kill()
            proc.join()
    if ok:
        return value
    raise value


def run_isolated_jobs(
    fn: Callable[..., Any],
    jobs: Sequence[tuple],
    workers: int,
    *,
    describe: Callable[[int], str] = lambda i: f"job {i}",
    initializer: Callable[[], None] | None = None,
) -> Iterator[tuple[int, Any, BaseException | None]]:
    """``fn(*jobs[i])`` for every ``i`` in ``workers`` worker processes: ``(i, result,
    None)`` or ``(i, None, exception)`` for each job, in the order they finish. A job
    whose process dies gives a :class:`WorkerDied` naming ``describe(i)``; see the
    module docstring for how it is told from the jobs that shared its pool."""
    ctx = _context()
    pending = list(range(len(jobs)))
    while pending:
        suspects: list[int] = []
        n = min(workers, len(pending))
        with ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=initializer) as pool:
            running: dict[Future, int] = {}
            while pending or running:
                while pending and len(running) < n:
                    i = pending.pop(0)
                    running[pool.submit(fn, *jobs[i])] = i
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                lost = False
                for fut in done:
                    i = running.pop(fut)
                    try:
                        yield i, fut.result(), None
                    except BrokenProcessPool:
                        lost = True
                        suspects.append(i)
                    except Exception as exc:  # noqa: BLE001 - the job's own error
                        yield i, None, exc
                if lost:  # every call still running went down with the pool
                    suspects.extend(running.values())
                    break
        for i in sorted(suspects):
            try:
                yield i, call_isolated(fn, *jobs[i], what=describe(i)), None
            except Exception as exc:  # noqa: BLE001 - WorkerDied or the job's own error
                yield i, None, exc
