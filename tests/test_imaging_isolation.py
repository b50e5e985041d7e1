"""A crash in native code on a user's file loses that file's work, not the process: the
calculator's scan upload and ``prom features`` run the imaging libraries in spawned
processes (:mod:`radiomics_features.pipeline.isolation`). The crashes here are real: the
child dereferences a null pointer through ctypes, or is sent SIGSEGV, as a reader
overrunning a buffer on a hostile file would be."""

from __future__ import annotations

import ctypes
import os
import signal
import time

import pytest

from radiomics_features.pipeline.isolation import WorkerDied, call_isolated, run_isolated_jobs


def work(x: str) -> str:
    """Module level, so that a spawned child can import it by name."""
    if x == "segfault":
        ctypes.string_at(0)  # a read of address 0 in C: SIGSEGV
    if x == "signal":
        os.kill(os.getpid(), signal.SIGSEGV)
    if x == "exit":
        os._exit(3)
    if x == "hang":
        time.sleep(60)
    if x == "bad":
        raise ValueError("value 'bad' is not an image")
    return x.upper()


def test_a_call_answers_raises_or_dies_by_name():
    assert call_isolated(work, "ok") == "OK"
    with pytest.raises(ValueError, match="value 'bad' is not an image"):
        call_isolated(work, "bad")
    with pytest.raises(WorkerDied) as e:
        call_isolated(work, "segfault", what="'IM0001'")
    assert "the process reading 'IM0001' was stopped by signal SIGSEGV: a native library" in str(
        e.value
    )
    assert isinstance(e.value, ValueError)  # bad input: reported, never a traceback
    with pytest.raises(WorkerDied, match=r"exited with code 3 before answering; .* not a verdict"):
        call_isolated(work, "exit")


def test_a_call_that_keeps_working_is_stopped_at_its_time_limit():
    t = time.perf_counter()
    with pytest.raises(WorkerDied, match=r"'scan.nii' was still working after 1 s and was stopped"):
        call_isolated(work, "hang", what="'scan.nii'", timeout=1)
    assert time.perf_counter() - t < 30


@pytest.mark.parametrize("workers", [1, 2])
def test_a_crash_in_a_pool_loses_one_job_and_names_it(workers):
    """Every job is answered: the crashing ones with WorkerDied naming them, the ones that
    shared the crashed pool run again, the rest in a new pool; a job's own error is its."""
    jobs = [("a",), ("segfault",), ("b",), ("bad",), ("c",), ("signal",), ("d",)]
    answers = run_isolated_jobs(work, jobs, workers, describe=lambda i: f"case {i}")
    out = {i: (answer, exc) for i, answer, exc in answers}
    assert sorted(out) == list(range(len(jobs)))
    assert {i: a for i, (a, e) in out.items() if e is None} == {0: "A", 2: "B", 4: "C", 6: "D"}
    assert isinstance(out[3][1], ValueError) and not isinstance(out[3][1], WorkerDied)
    for i in (1, 5):
        assert isinstance(out[i][1], WorkerDied)
        assert f"the process reading case {i} was stopped by signal SIGSEGV" in str(out[i][1])


MARKER = """import os
with open(os.environ["IMPORT_LOG"], "a", encoding="utf-8") as f:
    f.write(f"{os.getpid()}\\n")
"""
PROGRAM = """import os
import marker
from radiomics_features.pipeline.isolation import call_isolated, run_isolated_jobs

if __name__ == "__main__":
    pids = {call_isolated(os.getpid) for _ in range(3)}
    pids |= {pid for _, pid, _ in run_isolated_jobs(os.getpid, [()] * 4, 2)}
    print(len(pids))
"""


@pytest.mark.parametrize("how", ["script", "module"])
def test_children_do_not_import_the_main_programs_modules_again(tmp_path, how):
    """Every child re-runs the main program (a console script: ``from prom.cli import
    main``, about a second of imports). The fork server imports what the main program
    imported, once: the children find it loaded. Counted by a module that logs each
    time it is executed: once in the program, once in the fork server, never in the
    five or more children (before: once in each of them too)."""
    import subprocess
    import sys

    (tmp_path / "marker.py").write_text(MARKER, encoding="utf-8")
    (tmp_path / "program.py").write_text(PROGRAM, encoding="utf-8")
    log = tmp_path / "imports.log"
    env = {**os.environ, "IMPORT_LOG": str(log)}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "program.py"] if how == "script" else [sys.executable, "-m", "program"]
    out = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) >= 4  # distinct child processes answered
    assert len(log.read_text(encoding="utf-8").split()) == 2
