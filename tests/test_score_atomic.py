"""Bulk scoring writes nothing until it is complete, and the same run gives the same bytes.

The kill test runs ``prom score`` in a subprocess, waits until it has started writing (its
hidden ``.part`` file holds data), kills it with SIGKILL — no chance to clean up — and
checks that no output, quarantine or summary file exists; the re-run then writes exactly
the bytes of an uninterrupted run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from prom.cohort import simulate_cohort
from prom.score import ScoreError, score_file
from prom.score.output import AtomicFile

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

STAMP = "2026-11-24T09:00:00Z"
BATCH = 200


@pytest.fixture(scope="module")
def setup(tmp_path_factory, score_bundle):
    root = tmp_path_factory.mktemp("score_atomic")
    bundle = score_bundle
    df = simulate_cohort(8000, seed=9).astype({"age_years": object})
    df.loc[[5, 4000], "age_years"] = ["n/a", 250.0]  # two rows for the quarantine file
    src = root / "in.csv"
    df.to_csv(src, index=False)
    ref = root / "ref" / "scored.parquet"
    score_file(bundle, src, ref, scored_at=STAMP, batch_rows=BATCH)
    return bundle, src, ref


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_killed_run_leaves_no_output_and_the_rerun_gives_the_same_bytes(setup, tmp_path):
    bundle, src, ref = setup
    out = tmp_path / "scored.parquet"
    part = tmp_path / ".scored.parquet.part"
    cmd = [
        sys.executable,
        "-m",
        "prom.cli",
        "score",
        "-b",
        str(bundle),
        "-i",
        str(src),
        "-o",
        str(out),
        "--scored-at",
        STAMP,
        "--batch-rows",
        str(BATCH),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not (part.exists() and part.stat().st_size > 4096):
            if proc.poll() is not None:
                pytest.fail(
                    f"the run ended (code {proc.returncode}) before it was killed: "
                    f"{proc.stderr.read().decode()[-2000:]}"
                )
            if time.monotonic() > deadline:
                pytest.fail("the run did not start writing within 120 s")
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    # only hidden partial files remain: no output, no quarantine, no summary
    assert [n for n in _files(tmp_path) if not n.startswith(".")] == []
    assert part.exists()

    summary = score_file(bundle, src, out, scored_at=STAMP, batch_rows=BATCH)
    assert out.read_bytes() == ref.read_bytes()
    q = tmp_path / "scored.quarantine.csv"
    assert q.read_bytes() == (ref.parent / "scored.quarantine.csv").read_bytes()
    assert summary["rows"] == {"read": 8000, "scored": 7998, "quarantined": 2, "problems": 2}
    assert _files(tmp_path) == ["scored.parquet", "scored.quarantine.csv", "scored.summary.json"]


def test_a_run_stopped_by_sigterm_exits_143_and_leaves_no_file(setup, tmp_path):
    """A scheduler's SIGTERM unwinds the run as Ctrl-C does: the partial files and locks
    are removed (SIGKILL, above, leaves hidden partial files for the next run)."""
    bundle, src, _ = setup
    out = tmp_path / "scored.parquet"
    part = tmp_path / ".scored.parquet.part"
    cmd = [sys.executable, "-m", "prom.cli", "score", "-b", str(bundle), "-i", str(src)]
    cmd += ["-o", str(out), "--scored-at", STAMP, "--batch-rows", str(BATCH)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not (part.exists() and part.stat().st_size > 4096):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the run ended or stalled: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        err = proc.stderr.read().decode()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    assert _files(tmp_path) == []


def test_a_rerun_gives_the_same_bytes_csv_and_gzip(setup, tmp_path):
    bundle, src, _ = setup
    for name in ("a.csv", "a.csv.gz"):
        first = score_file(bundle, src, tmp_path / "1" / name, scored_at=STAMP, batch_rows=2000)
        score_file(bundle, src, tmp_path / "2" / name, scored_at=STAMP, batch_rows=2000)
        assert (tmp_path / "1" / name).read_bytes() == (tmp_path / "2" / name).read_bytes()
        assert first["scored_at"] == STAMP


def test_the_scoring_time_defaults_to_the_run_start_and_is_recorded(setup, tmp_path):
    import pandas as pd

    bundle, src, _ = setup
    before = time.time()
    summary = score_file(bundle, src, tmp_path / "o.parquet", batch_rows=4000)
    stamp = summary["scored_at"]
    t = pd.Timestamp(stamp).timestamp()
    assert before - 1 <= t <= time.time()
    assert stamp in summary["reproduce"]
    assert set(pd.read_parquet(tmp_path / "o.parquet", columns=["scored_at"])["scored_at"]) == {
        stamp
    }


def test_a_failing_run_removes_its_partial_files(setup, tmp_path, monkeypatch):
    bundle, src, _ = setup
    calls = {"n": 0}
    import prom.score.core as core

    real = core.score_batch

    def fail_third(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr("prom.score.engines.score_batch", fail_third)
    with pytest.raises(RuntimeError, match="disk on fire"):
        score_file(bundle, src, tmp_path / "o.parquet", scored_at=STAMP, batch_rows=BATCH)
    assert _files(tmp_path) == []


def test_two_runs_cannot_write_the_same_output(tmp_path):
    first = AtomicFile(tmp_path / "o.parquet")
    with pytest.raises(ScoreError, match=r"another run is writing .*o.parquet"):
        AtomicFile(tmp_path / "o.parquet")
    first.file.write(np.arange(3).tobytes())
    first.commit()
    assert (tmp_path / "o.parquet").stat().st_size == 24
    assert _files(tmp_path) == ["o.parquet"]
