"""Two scoring runs on one output: exactly one winner, one clear refusal, nothing left over.

Run ``a`` and run ``b`` score different inputs (one and two bad rows) with different
``scored_at`` stamps, so every file tells which run wrote it: the output's ``scored_at``
column, the summary's ``scored_at`` and row counts, the quarantine's lines. Each is compared
byte for byte with a solo run of the same input and stamp.

- The stress test runs both at once in two worker processes, many rounds, the later one
  started after a delay that is steered, round by round, towards the moment the first one
  finishes (without overwrite), or swept from 0 to a little more than a solo run (with
  overwrite on both), so the rounds cover the interleavings: refused at a lock, refused by
  the output found under the lock, refused by the early check, one run after the other.
- The deterministic tests force one interleaving each, pausing the first run (a thread)
  at a chosen point while the second runs.

The bundle is the package's demonstration bundle (seven tasks; no fit needed).
"""

from __future__ import annotations

import concurrent.futures as cf
import errno
import fcntl
import importlib
import json
import multiprocessing as mp
import os
import re
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from prom.calculator import DEMO_BUNDLE_PATH
from prom.cohort import simulate_cohort
from prom.errors import StatisticalWarning
from prom.score import OutputInUseError, ScoreError, score_file
from prom.score.output import AtomicFile, OutputLock, lock_path, part_path

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

STAMPS = {"a": "2026-11-24T09:00:00Z", "b": "2026-11-25T10:30:00Z"}
BAD_ROWS = {"a": [7], "b": [3, 90]}  # 0-based rows given an impossible age
N = 120
FINAL = ["o.parquet", "o.quarantine.csv", "o.summary.json"]
BUSY = r"another run is writing \S*{name} \(it holds the lock \.{name}\.lock\)"
EXISTS = r"o\.parquet exists; choose another output or pass overwrite"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Inputs ``a`` and ``b`` and the files of a solo run of each."""
    root = tmp_path_factory.mktemp("races")
    inputs, solo = {}, {}
    for seed, name in enumerate(("a", "b"), start=1):
        df = simulate_cohort(N, seed=seed).astype({"age_years": object})
        df.loc[BAD_ROWS[name], "age_years"] = 250.0
        inputs[name] = root / f"{name}.csv"
        df.to_csv(inputs[name], index=False)
        out = root / f"solo_{name}" / "o.parquet"
        summary = score_file(DEMO_BUNDLE_PATH, inputs[name], out, scored_at=STAMPS[name])
        solo[name] = {
            "output": out.read_bytes(),
            "quarantine": (out.parent / FINAL[1]).read_bytes(),
            "rows": summary["rows"],
        }
        assert summary["rows"]["quarantined"] == len(BAD_ROWS[name])
    return inputs, solo


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def _winner(folder, solo) -> str:
    """Which run wrote the files in ``folder``; all three must come from that run, whole."""
    assert _listing(folder) == FINAL  # no .part, no lock file
    summary = json.loads((folder / FINAL[2]).read_text(encoding="utf-8"))
    name = next(k for k, v in STAMPS.items() if v == summary["scored_at"])
    assert (folder / FINAL[0]).read_bytes() == solo[name]["output"]
    assert (folder / FINAL[1]).read_bytes() == solo[name]["quarantine"]
    assert summary["rows"] == solo[name]["rows"]
    stamps = pd.read_parquet(folder / FINAL[0], columns=["scored_at"])["scored_at"]
    assert set(stamps) == {summary["scored_at"]}
    return name


# -- many rounds, two processes -----------------------------------------------------------

ROUNDS = 20
_BARRIER = None


def _init_worker(barrier) -> None:
    global _BARRIER
    _BARRIER = barrier
    warnings.simplefilter("ignore", StatisticalWarning)


def _race(source, out, stamp, overwrite, delay, meet=True):
    """One run in a worker process: meet the other worker, sleep ``delay`` s, score."""
    if meet:
        _BARRIER.wait(timeout=120)
    time.sleep(delay)
    try:
        summary = score_file(DEMO_BUNDLE_PATH, source, out, scored_at=stamp, overwrite=overwrite)
    except OutputInUseError as exc:
        return "refused", str(exc), None
    return "scored", summary["scored_at"], summary["seconds"]


def test_concurrent_runs_on_one_output_have_one_winner_and_one_refusal(runs, tmp_path):
    """Without overwrite, the later run's start is adjusted round by round (up when it was
    refused at the lock, down when it found the output), so it keeps arriving as the first
    run finishes: it checks for the output while the first is still writing and claims
    its files around the time the first one renames and releases them. With overwrite on
    both, the later run starts anywhere from together with the first to after its end."""
    inputs, solo = runs
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(2)
    with cf.ProcessPoolExecutor(
        2, mp_context=ctx, initializer=_init_worker, initargs=(barrier,)
    ) as pool:
        warm = [  # each worker imports and scores once
            pool.submit(_race, inputs[k], tmp_path / "warm" / k / "o.parquet", STAMPS[k], False, 0)
            for k in ("a", "b")
        ]
        assert [f.result(timeout=300)[0] for f in warm] == ["scored", "scored"]
        timed = pool.submit(
            _race, inputs["a"], tmp_path / "solo" / "o.parquet", STAMPS["a"], False, 0, False
        )
        seconds = timed.result(timeout=300)[2]
        delay, step = seconds["total"] - seconds["planning_and_id_pass"] / 2, seconds["total"] / 4
        later = iter(np.linspace(0.0, 1.2 * seconds["total"], ROUNDS // 3))
        outcomes = []
        for r in range(ROUNDS):
            overwrite = r % 3 == 2
            late = "ab"[r % 2]
            wait = float(next(later)) if overwrite else max(delay, 0.0)
            folder = tmp_path / f"round_{r}"
            futures = {
                k: pool.submit(
                    _race,
                    inputs[k],
                    folder / "o.parquet",
                    STAMPS[k],
                    overwrite,
                    wait if k == late else 0.0,
                )
                for k in ("a", "b")
            }
            res = {k: f.result(timeout=300) for k, f in futures.items()}
            winner = _winner(folder, solo)  # whole files, all three from one run
            refused = [v[1] for v in res.values() if v[0] == "refused"]
            if overwrite and not refused:  # one after the other: the later one's files
                outcomes.append("both scored, one after the other")
                continue
            assert len(refused) == 1, res  # one winner, one refusal
            assert res[winner][0] == "scored", res
            busy = re.search(
                BUSY.format(name=r"o\.(parquet|quarantine\.csv|summary\.json)"), refused[0]
            )
            exists = re.search(EXISTS, refused[0])
            assert busy or (exists and not overwrite), refused[0]
            outcomes.append("refused: in use" if busy else "refused: exists")
            if not overwrite:
                delay += step if busy else -step
                step = max(0.7 * step, 0.005)
    print(f"\n{ROUNDS} rounds:", {k: outcomes.count(k) for k in sorted(set(outcomes))})


# -- one interleaving each, forced ---------------------------------------------------------


class _FirstRun(threading.Thread):
    """``score_file`` in a thread named "first" (the one :func:`_pause_first` holds)."""

    def __init__(self, *args, **kwargs):
        super().__init__(name="first", daemon=True)
        self.args, self.kwargs = args, kwargs
        self.error: BaseException | None = None

    def run(self):
        try:
            score_file(*self.args, **self.kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which checks it
            self.error = exc

    def finish(self, go: threading.Event) -> BaseException | None:
        go.set()
        self.join(timeout=120)
        assert not self.is_alive()
        return self.error


def _pause_first(monkeypatch, target: str):
    """Wrap ``target`` ("module.name") so that the "first" thread waits there until
    released; returns the events (reached, go)."""
    module, name = target.rsplit(".", 1)
    real = getattr(importlib.import_module(module), name)
    reached, go = threading.Event(), threading.Event()

    def wrapper(*args, **kwargs):
        if threading.current_thread().name == "first":
            reached.set()
            if not go.wait(120):
                raise RuntimeError("the test did not release the first run")
        return real(*args, **kwargs)

    monkeypatch.setattr(target, wrapper)
    return reached, go


def test_a_second_run_is_refused_while_the_first_holds_the_output(runs, tmp_path, monkeypatch):
    inputs, solo = runs
    out = tmp_path / "o.parquet"
    reached, go = _pause_first(monkeypatch, "prom.score.engines.local_results")
    first = _FirstRun(DEMO_BUNDLE_PATH, inputs["a"], out, scored_at=STAMPS["a"])
    first.start()
    assert reached.wait(120)
    held = sorted([f".{n}.lock" for n in FINAL] + [f".{n}.part" for n in FINAL[:2]])
    try:
        assert _listing(tmp_path) == held
        for overwrite in (False, True):
            with pytest.raises(OutputInUseError, match=BUSY.format(name=r"o\.parquet")):
                score_file(
                    DEMO_BUNDLE_PATH, inputs["b"], out, scored_at=STAMPS["b"], overwrite=overwrite
                )
            assert _listing(tmp_path) == held  # the refused run created nothing
    finally:
        error = first.finish(go)
    assert error is None
    assert _winner(tmp_path, solo) == "a"
    # once the first run is done, a run without overwrite refuses; with it, it replaces
    with pytest.raises(OutputInUseError, match=EXISTS):
        score_file(DEMO_BUNDLE_PATH, inputs["b"], out, scored_at=STAMPS["b"])
    assert _winner(tmp_path, solo) == "a"
    score_file(DEMO_BUNDLE_PATH, inputs["b"], out, scored_at=STAMPS["b"], overwrite=True)
    assert _winner(tmp_path, solo) == "b"


def test_a_run_that_checked_before_another_finished_does_not_replace_its_output(
    runs, tmp_path, monkeypatch
):
    """The first run finds no output, pauses (before it claims its files), and the second
    run scores to the end meanwhile: the first must refuse, not replace."""
    inputs, solo = runs
    out = tmp_path / "o.parquet"
    reached, go = _pause_first(monkeypatch, "prom.score.run.Options")
    first = _FirstRun(DEMO_BUNDLE_PATH, inputs["a"], out, scored_at=STAMPS["a"])
    first.start()
    try:
        assert reached.wait(120)
        assert _listing(tmp_path) == []  # checked and found nothing
        score_file(DEMO_BUNDLE_PATH, inputs["b"], out, scored_at=STAMPS["b"])
    finally:
        error = first.finish(go)
    assert isinstance(error, OutputInUseError)
    assert re.search(EXISTS, str(error))
    assert _winner(tmp_path, solo) == "b"


def test_an_output_that_appears_during_the_run_is_left_as_it_is(runs, tmp_path, monkeypatch):
    inputs, _ = runs
    out = tmp_path / "o.parquet"
    reached, go = _pause_first(monkeypatch, "prom.score.engines.local_results")
    first = _FirstRun(DEMO_BUNDLE_PATH, inputs["a"], out, scored_at=STAMPS["a"])
    first.start()
    try:
        assert reached.wait(120)
        out.write_bytes(b"written by a program that ignores the lock")
    finally:
        error = first.finish(go)
    assert isinstance(error, OutputInUseError)
    assert re.search(
        r"o\.parquet was created by another program while this run was writing it; it was "
        r"left as it is and this run's files were removed",
        str(error),
    )
    assert out.read_bytes() == b"written by a program that ignores the lock"
    assert _listing(tmp_path) == ["o.parquet"]  # no companion, .part or lock file


@pytest.mark.parametrize("name", FINAL)
def test_a_run_that_loses_a_lock_leaves_nothing_behind(runs, tmp_path, name):
    inputs, solo = runs
    holder = os.open(tmp_path / f".{name}.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(OutputInUseError, match=BUSY.format(name=re.escape(name))):
            score_file(DEMO_BUNDLE_PATH, inputs["a"], tmp_path / "o.parquet", scored_at=STAMPS["a"])
        assert _listing(tmp_path) == [f".{name}.lock"]  # the holder's, nothing else
    finally:
        os.close(holder)
    # the lock file stays, with no holder (as after kill -9): it blocks no one
    score_file(DEMO_BUNDLE_PATH, inputs["a"], tmp_path / "o.parquet", scored_at=STAMPS["a"])
    assert _winner(tmp_path, solo) == "a"


def test_the_output_and_a_companion_cannot_be_one_file(runs, tmp_path):
    inputs, _ = runs
    with pytest.raises(
        ScoreError,
        match=r"the output and the quarantine are the same file \(\S*o\.csv\); give each its "
        r"own path",
    ):
        score_file(DEMO_BUNDLE_PATH, inputs["a"], tmp_path / "o.csv", quarantine=tmp_path / "o.csv")
    assert _listing(tmp_path) == []


def test_no_output_is_written_over_or_into_the_input(runs, tmp_path):
    inputs, _ = runs
    table = tmp_path / "registry.csv"
    table.write_bytes(Path(inputs["a"]).read_bytes())
    before = table.read_bytes()
    for kwargs, role in (
        ({"out": table, "overwrite": True}, "output"),
        ({"out": tmp_path / "o.csv", "summary": table, "overwrite": True}, "summary"),
        ({"out": tmp_path / "o.csv", "quarantine": table, "overwrite": True}, "quarantine"),
    ):
        out = kwargs.pop("out")
        with pytest.raises(ScoreError, match=rf"the {role} is the input \(\S*registry\.csv\)"):
            score_file(DEMO_BUNDLE_PATH, table, out, scored_at=STAMPS["a"], **kwargs)
    folder = tmp_path / "parts"
    folder.mkdir()
    pd.read_csv(table).to_parquet(folder / "part-0.parquet")
    with pytest.raises(ScoreError, match=r"the output is inside the input"):
        score_file(DEMO_BUNDLE_PATH, folder, folder / "scored.parquet", scored_at=STAMPS["a"])
    assert table.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.parquet"]


# -- the lock and the rename ---------------------------------------------------------------


def test_a_lock_file_removed_before_it_was_locked_is_taken_again(tmp_path, monkeypatch):
    """The holder before removed the lock file between this run's open and its lock: the
    lock taken is on a file no other run can find, so the run opens the path again."""
    target = tmp_path / "o.parquet"
    lock_file = lock_path(target)
    real = fcntl.flock
    calls = []

    def flock(fd, op):
        calls.append(op)
        if len(calls) == 1:
            os.unlink(lock_file)
        return real(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    lock = OutputLock(target)
    monkeypatch.undo()
    assert len(calls) == 2
    assert lock.fd is not None
    assert os.fstat(lock.fd).st_ino == os.stat(lock_file).st_ino
    with pytest.raises(OutputInUseError, match=BUSY.format(name=r"o\.parquet")):
        OutputLock(target)
    lock.release()
    assert _listing(tmp_path) == []


def test_a_lock_file_that_keeps_vanishing_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "o.parquet"
    real = fcntl.flock

    def flock(fd, op):
        os.unlink(lock_path(target))
        return real(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock)
    with pytest.raises(OutputInUseError, match=BUSY.format(name=r"o\.parquet")):
        OutputLock(target)
    assert _listing(tmp_path) == []


def test_without_overwrite_a_file_at_the_final_path_is_never_replaced(tmp_path, monkeypatch):
    out = tmp_path / "o.csv"
    f = AtomicFile(out)
    f.file.write(b"new")
    out.write_bytes(b"old")
    with pytest.raises(OutputInUseError, match=r"o\.csv was created by another program"):
        f.commit(replace=False)
    assert out.read_bytes() == b"old"
    assert _listing(tmp_path) == ["o.csv"]

    # a .part file left by a run killed between the hard link and the unlink shares the
    # output's data: the next run removes it instead of truncating it
    os.link(out, part_path(out))
    AtomicFile(out).abort()
    assert out.read_bytes() == b"old"
    assert _listing(tmp_path) == ["o.csv"]

    def no_hard_links(src, dst):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_hard_links)  # a file system without hard links
    other = tmp_path / "p.csv"
    g = AtomicFile(other)
    g.file.write(b"new")
    g.commit(replace=False)
    h = AtomicFile(other)
    h.file.write(b"newer")
    with pytest.raises(OutputInUseError, match=r"p\.csv was created by another program"):
        h.commit(replace=False)
    assert other.read_bytes() == b"new"
    assert _listing(tmp_path) == ["o.csv", "p.csv"]


# -- the command --------------------------------------------------------------------------


def test_the_command_exits_3_when_the_output_is_in_use_or_exists(runs, tmp_path):
    inputs, _ = runs
    out = tmp_path / "o.parquet"
    cmd = [
        sys.executable,
        "-m",
        "prom.cli",
        "score",
        "-b",
        str(DEMO_BUNDLE_PATH),
        "-i",
        str(inputs["a"]),
        "--scored-at",
        STAMPS["a"],
    ]
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "o.parquet").write_bytes(b"an earlier output")
    holder = os.open(lock_path(out), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        procs = {  # both at once: one finds the output locked, the other finds it there
            folder: subprocess.Popen(
                [*cmd, "-o", str(folder / "o.parquet")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
            for folder in (tmp_path, earlier)
        }
        stderr = {folder: p.communicate(timeout=300)[1] for folder, p in procs.items()}
    finally:
        os.close(holder)
    for folder, pattern in ((tmp_path, BUSY.format(name=r"o\.parquet")), (earlier, EXISTS)):
        err = " ".join(stderr[folder].split())  # the console wraps long lines
        assert procs[folder].returncode == 4, stderr[folder]
        assert err.startswith("error: ")
        assert re.search(pattern, err), err
        assert "Traceback" not in stderr[folder]
    assert (earlier / "o.parquet").read_bytes() == b"an earlier output"
    assert _listing(earlier) == ["o.parquet"]
    assert _listing(tmp_path) == [".o.parquet.lock", "earlier"]  # the test's lock file
