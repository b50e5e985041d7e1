"""Every ``prom`` verb on the bad inputs people hand it: no traceback, the documented exit
code (docs/cli.md: 0 done, 1 the command found errors, 2 bad input or options, 3 internal
error), and text in PROM item columns named by row in validate, score-proms and evaluate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import EXIT_BAD_INPUT, EXIT_FOUND_ERRORS, EXIT_INTERNAL, app
from prom.cohort import simulate_cohort

runner = CliRunner()
BUNDLE = str(DEMO_BUNDLE_PATH)
pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """One file (or path) per kind of bad input, and a good cohort to compare with."""
    d = tmp_path_factory.mktemp("bad")
    df = simulate_cohort(200, seed=1)
    good = d / "cohort.csv"
    df.to_csv(good, index=False)
    text = df.astype({"odi_lifting_0m": object})
    text.loc[[5, 9], "odi_lifting_0m"] = ["two", "x"]
    (d / "text_items.csv").write_text(text.to_csv(index=False), encoding="utf-8")
    (d / "empty.csv").write_bytes(b"")
    (d / "header_only.csv").write_text(",".join(df.columns) + "\n", encoding="utf-8")
    (d / "binary.csv").write_bytes(np.random.default_rng(0).bytes(4096))
    (d / "a_folder.csv").mkdir()
    return {
        "good": good,
        "missing": d / "no_such_file.csv",
        "folder": d / "a_folder.csv",
        "empty": d / "empty.csv",
        "header_only": d / "header_only.csv",
        "binary": d / "binary.csv",
        "text_items": d / "text_items.csv",
        "out": d / "out",
    }


def _args(verb: str, data: Path, out: Path) -> list[str]:
    """The verb's command line with ``data`` as its input table."""
    return {
        "validate": ["validate", "--data", str(data)],
        "score-proms": ["score-proms", "--data", str(data), "--out", str(out / "s.csv")],
        "fit": ["fit", "--data", str(data), "--target", "diabetes", "--out", str(out / "b")],
        "evaluate": ["evaluate", "--bundle", BUNDLE, "--data", str(data)],
        "report": [
            *("report", "-b", BUNDLE, "-d", str(data), "--task", "mcid_odi_12m"),
            *("--shap-rows", "10", "-o", str(out / "r.html")),
        ],
        "score": [
            *("score", "-b", BUNDLE, "-i", str(data), "-o", str(out / "p.csv")),
            *("--overwrite", "--scored-at", "2026-01-01T00:00:00Z"),
        ],
    }[verb]


#: Expected exit code per input kind and verb. A header-only table is a valid empty table
#: (0 rows checked, scored or explained) except where rows are needed: fitting and
#: evaluating. Text items are contract errors for validate (1), bad input where PROMs are
#: scored (2), and quarantined rows for the bulk scorer (0: every row accounted for).
CODES = {
    "missing": dict.fromkeys(("validate", "score-proms", "fit", "evaluate", "report", "score"), 2),
    "folder": dict.fromkeys(("validate", "score-proms", "fit", "evaluate", "report", "score"), 2),
    "empty": dict.fromkeys(("validate", "score-proms", "fit", "evaluate", "report", "score"), 2),
    "binary": dict.fromkeys(("validate", "score-proms", "fit", "evaluate", "report", "score"), 2),
    "header_only": {
        "validate": 0,
        "score-proms": 0,
        "fit": 2,
        "evaluate": 2,
        "report": 0,
        "score": 0,
    },
    "text_items": {
        "validate": 1,
        "score-proms": 2,
        "fit": 2,
        "evaluate": 2,
        "report": 2,
        "score": 0,
    },
}


@pytest.mark.parametrize(("kind", "verb"), [(k, v) for k, verbs in CODES.items() for v in verbs])
def test_every_table_verb_on_bad_input_exits_with_its_code_and_no_traceback(
    files, kind, verb, tmp_path
):
    res = runner.invoke(app, _args(verb, files[kind], tmp_path))
    assert res.exit_code == CODES[kind][verb], res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    if res.exit_code == EXIT_BAD_INPUT:
        assert flat(res.output).count("error: ") == 1, res.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["simulate", "--n", "10", "--out", "x.txt"],
            "x.txt': expected a file name ending in .csv, .csv.gz, .parquet",
        ),
        (
            ["score-proms", "--data", "{good}", "--out", "o.txt"],
            "o.txt': expected a file name ending in .csv",
        ),
        (
            ["validate", "--data", "{good}", "--report", "p.txt"],
            "p.txt': expected a file name ending in .csv",
        ),
        (["thresholds", "--instrument", "bogus"], "--instrument 'bogus': expected one of odi"),
        (["tasks", "--bogus"], "No such option"),
        (["demo", "--out", "{good}", "--no-fit", "--n", "500"], "File exists"),
        (["features", "--mri", "{missing}", "--out", "f.csv"], "does not exist"),
        (["evaluate", "--bundle", "{missing}", "--data", "{good}"], "is not a bundle directory"),
        (["evaluate", "--bundle", "{good}", "--data", "{good}"], "is not a bundle directory"),
        (["report", "--bundle", "{folder}", "--out", "r.html"], "no manifest.json"),
        (["score", "-b", "{empty}", "-i", "{good}", "-o", "p.csv"], "not a bundle directory"),
        (["fit", "--data", "{good}", "--task", "nope", "--out", "b.csv"], "unknown task 'nope'"),
    ],
)
def test_other_verbs_refuse_bad_options_and_paths_with_exit_code_2(files, args, message, tmp_path):
    paths = {k: str(v) for k, v in files.items()}
    # placeholders name the fixture's files; a bare output name goes into tmp_path
    args = [a.format(**paths) if "{" in a else a for a in args]
    args = [
        str(tmp_path / a) if a.endswith((".txt", ".csv", ".html")) and "/" not in a else a
        for a in args
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == EXIT_BAD_INPUT, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert message in flat(res.output)
    assert "error: " in res.output or "No such option" in message


def test_features_on_a_file_that_is_no_image_fails_the_case_with_exit_code_1(files, tmp_path):
    res = runner.invoke(
        app, ["features", "--mri", str(files["empty"]), "--out", str(tmp_path / "f.csv")]
    )
    assert res.exit_code == EXIT_FOUND_ERRORS, res.output  # every case failed, each logged
    assert "ImageReadError" in flat(res.output) and "is empty (0 bytes)" in flat(res.output)


@pytest.mark.parametrize("verb", ["score-proms", "evaluate"])
def test_text_items_are_named_by_row_and_value(files, verb, tmp_path):
    res = runner.invoke(app, _args(verb, files["text_items"], tmp_path))
    assert res.exit_code == EXIT_BAD_INPUT
    assert (
        "error: ODI item 'lifting' (column 'odi_lifting_0m') has 2 value(s) that are not "
        "numbers (lines 7, 11; values 'two', 'x'); expected whole numbers 0–5 or blank"
    ) in flat(res.output)


def test_validate_names_the_rows_of_text_items(files, tmp_path):
    res = runner.invoke(
        app,
        [
            *("validate", "--data", str(files["text_items"]), "--mode", "lenient"),
            *("--report", str(tmp_path / "problems.csv")),
        ],
    )
    assert res.exit_code == EXIT_FOUND_ERRORS
    import pandas as pd

    problems = pd.read_csv(tmp_path / "problems.csv")
    row = problems[(problems["column"] == "odi_lifting_0m") & (problems["check"] == "type")]
    assert len(row) == 1 and row["severity"].item() == "error"
    # the file's lines: rows 5 and 9 of the frame written out, after the header
    assert row["n_rows"].item() == 2 and row["lines"].item() == "[7, 11]"
    assert row["values"].item() == "['two', 'x']"


def test_an_unexpected_error_is_one_line_and_code_3_and_debug_shows_it(monkeypatch):
    import prom.instruments.mcid as mcid

    def broken(instrument=None):
        raise RuntimeError("the registry is broken")

    monkeypatch.setattr(mcid, "list_thresholds", broken)
    res = runner.invoke(app, ["thresholds"])
    assert res.exit_code == EXIT_INTERNAL
    assert flat(res.output) == (
        "error: internal error: RuntimeError: the registry is broken; run with --debug for "
        "the traceback (prom --debug COMMAND …)"
    )
    res = runner.invoke(app, ["--debug", "thresholds"])
    assert isinstance(res.exception, RuntimeError)  # the traceback is shown, not caught


def test_a_toolkit_error_a_command_did_not_catch_is_bad_input(monkeypatch):
    import prom.instruments.mcid as mcid
    from prom.errors import MappingError

    def refused(instrument=None):
        raise MappingError("column 'x' is mapped twice")

    monkeypatch.setattr(mcid, "list_thresholds", refused)
    res = runner.invoke(app, ["thresholds"])
    assert res.exit_code == EXIT_BAD_INPUT
    assert flat(res.output) == "error: column 'x' is mapped twice"


@pytest.mark.parametrize("verb", ["score-proms", "evaluate"])
def test_the_installed_command_prints_no_traceback_for_text_items(files, verb, tmp_path):
    """The real process (stderr included), not the test runner's capture."""
    proc = subprocess.run(
        [sys.executable, "-m", "prom.cli", *_args(verb, files["text_items"], tmp_path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
        check=False,
    )
    assert proc.returncode == EXIT_BAD_INPUT, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "(lines 7, 11; values 'two', 'x')" in flat(proc.stderr)


def test_an_interrupted_command_exits_130(monkeypatch):
    import prom.instruments.mcid as mcid

    def interrupted(instrument=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(mcid, "list_thresholds", interrupted)
    res = runner.invoke(app, ["thresholds"])
    assert res.exit_code == 130 and flat(res.output) == "error: interrupted"


def test_an_output_closed_before_the_command_writes_ends_it_quietly():
    """``prom … | head`` where the reader has gone before the first write (here before the
    interpreter has imported the command)."""
    with subprocess.Popen(
        [sys.executable, "-m", "prom.cli", "thresholds"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        proc.stdout.close()  # type: ignore[union-attr]
        stderr = proc.stderr.read().decode()  # type: ignore[union-attr]
        code = proc.wait(timeout=300)
    assert (code, stderr) == (EXIT_FOUND_ERRORS, "")


def test_an_output_closed_while_the_command_writes_ends_it_quietly(monkeypatch, capsys):
    """``prom fit --help | head -40``: the reader took the first lines and went away, and
    the next write to standard output (here a flush, as click's ``echo`` makes) fails with
    EPIPE. This used to end as ``error: [Errno 32] Broken pipe`` with exit code 2."""
    import io
    import os

    import prom.instruments.mcid as mcid

    read_end, write_end = os.pipe()
    os.close(read_end)
    stdout = io.TextIOWrapper(io.FileIO(write_end, "w"))

    def reader_gone(instrument=None):
        stdout.write("threshold table\n")
        stdout.flush()

    monkeypatch.setattr(mcid, "list_thresholds", reader_gone)
    monkeypatch.setattr(sys, "stdout", stdout)
    with pytest.raises(SystemExit) as stop:
        app(["thresholds"])
    assert stop.value.code == EXIT_FOUND_ERRORS
    assert capsys.readouterr().err == ""
    stdout.close()  # the descriptor now points at the null device: closes without EPIPE


def test_a_broken_pipe_that_is_not_the_output_is_an_error(monkeypatch):
    import prom.instruments.mcid as mcid

    def worker_gone(instrument=None):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(mcid, "list_thresholds", worker_gone)
    res = runner.invoke(app, ["thresholds"])
    assert res.exit_code == EXIT_BAD_INPUT
    assert flat(res.output) == "error: [Errno 32] Broken pipe"
