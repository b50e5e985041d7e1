"""CSV structure is a row check like any other (prom.cohort.csv_reader).

The corrupted-input suite: a simulated cohort written to CSV, then broken the ways
registry exports break — a short row, a long row, a last line cut off, a quote left
open, Latin-1 bytes, semicolons, a duplicated header name. Through the bulk scorer every
input row is scored or quarantined (rows read = scored + quarantined, from the summary
JSON), no row with a broken structure reaches the output (checked by id), and the
quarantine file names the line and the check; through ``prom validate``, ``fit`` and
``score-proms`` the same files give named errors and the documented exit codes, never a
traceback. The structural scan itself is checked against Python's ``csv`` module and
pandas on generated text.

The bundle is the package's demonstration bundle: no fitting, so the suite is quick.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from prom.calculator import DEMO_BUNDLE_PATH
from prom.cli import app
from prom.cohort import csv_source, simulate_cohort
from prom.cohort.csv_reader import (
    CsvDialect,
    CsvStructureError,
    iter_csv_batches,
    read_csv_header,
)
from prom.cohort.csv_scan import scan_block
from prom.cohort.readers import TableReadError, load_cohort, read_cohort, read_table
from prom.score import ScoreError, score_file

runner = CliRunner()
STAMP = "2026-11-24T09:00:00Z"
N = 60
N_FIELDS = 154


@pytest.fixture(scope="module")
def cohort():
    return simulate_cohort(N, seed=11)


@pytest.fixture(scope="module")
def clean_bytes(cohort):
    data = cohort.to_csv(index=False).encode()
    assert data.count(b'"') == 0 and len(cohort.columns) == N_FIELDS  # the edits rely on it
    return data


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _ids(cohort, rows) -> set[str]:
    return set(cohort["patient_id"].iloc[list(rows)].astype(str))


# Each case: how the clean file is broken, the (data row, line, check, value) records the
# quarantine must hold, and the data rows whose values must never be scored. Line 1 is
# the header, so data row r (0-based) is on line r + 2 of the clean file.


def short_row(data):
    lines = _lines(data)
    lines[6] = b",".join(lines[6].split(b",")[:30])  # data row 5: 30 of 154 fields
    return b"\n".join(lines)


def long_row(data):
    lines = _lines(data)
    lines[11] += b",surplus"  # data row 10: 155 fields
    return b"\n".join(lines)


def truncated(data):
    # a killed export: the last number cut, no final line break
    body = data.rstrip(b"\n")
    return body[: body.rindex(b",") + 2]


def open_quote(data):
    lines = _lines(data)
    fields = lines[21].split(b",")
    fields[1] = b'"' + fields[1]  # data row 20: a quote that is never closed
    lines[21] = b",".join(fields)
    return b"\n".join(lines)


CASES = {
    "short_row": (short_row, [(5, 7, "field_count", "30 fields")], [5], N),
    "long_row": (long_row, [(10, 12, "field_count", "155 fields")], [10], N),
    "truncated_row": (
        truncated,
        [(N - 1, N + 1, "truncated_row", f"{N_FIELDS} fields and no line break")],
        [N - 1],
        N,
    ),
    # everything from the quote on is one row: 20 good rows before it, 1 broken
    "open_quote": (
        open_quote,
        [(20, 22, "open_quote", "a quote opened on line 22 is never closed")],
        range(20, N),
        21,
    ),
}


def _score(tmp_path, data: bytes, name="in.csv", **kw):
    src = tmp_path / name
    src.write_bytes(data)
    out = tmp_path / "out.parquet"
    summary = score_file(DEMO_BUNDLE_PATH, src, out, scored_at=STAMP, batch_rows=16, **kw)
    quarantine = pd.read_csv(tmp_path / "out.quarantine.csv", dtype={"patient_id": str})
    return (
        summary,
        pd.read_parquet(out),
        quarantine,
        json.loads((tmp_path / "out.summary.json").read_text(encoding="utf-8")),
    )


@pytest.mark.parametrize("case", list(CASES))
def test_scorer_quarantines_broken_rows_and_accounts_for_every_row(
    tmp_path, cohort, clean_bytes, case
):
    corrupt, expected, broken, n_read = CASES[case]
    _, scored, quarantine, summary = _score(tmp_path, corrupt(clean_bytes))
    rows = summary["rows"]
    assert rows["read"] == n_read
    assert rows["scored"] + rows["quarantined"] == rows["read"]
    assert rows["quarantined"] == len(expected) == rows["problems"]
    assert summary["quarantine_by_check"] == {expected[0][2]: len(expected)}
    assert summary["quarantined_rows_by_column"] == {}
    got = quarantine[["row", "line", "check"]].to_records(index=False).tolist()
    assert got == [(r + 1, line, check) for r, line, check, _ in expected]
    for (_, _, _, value), text in zip(expected, quarantine["value"], strict=True):
        assert text.startswith(value)
    assert quarantine["column"].isna().all() and quarantine["patient_id"].isna().all()
    assert not _ids(cohort, broken) & set(scored["patient_id"])
    assert set(scored["patient_id"]) == _ids(cohort, range(n_read)) - _ids(cohort, broken)
    assert summary["input"]["encoding"] == "utf-8" and summary["input"]["delimiter"] == ","


def joined_exports(data: bytes, bom: bool = False) -> bytes:
    """Two exports joined one after the other: the second one's header (with a UTF-8
    byte-order mark when ``bom``) is on line 32, between data rows 29 and 30."""
    lines = _lines(data)
    header = (b"\xef\xbb\xbf" if bom else b"") + lines[0]
    return b"\n".join([*lines[:31], header, *lines[31:]])


@pytest.mark.parametrize("bom", [False, True])
def test_a_repeated_header_is_one_problem_not_a_wrong_value_per_column(
    tmp_path, cohort, clean_bytes, bom
):
    _, scored, quarantine, summary = _score(tmp_path, joined_exports(clean_bytes, bom))
    rows = summary["rows"]
    assert (rows["read"], rows["scored"], rows["quarantined"], rows["problems"]) == (N + 1, N, 1, 1)
    assert summary["quarantine_by_check"] == {"repeated_header": 1}
    got = quarantine[["row", "line", "check", "value"]].to_records(index=False).tolist()
    assert got == [(31, 32, "repeated_header", "the header line again")]
    assert "two exports joined" in quarantine["expected"].iloc[0]
    assert set(scored["patient_id"]) == _ids(cohort, range(N))
    # a data row that merely starts like the header is not one
    lines = _lines(clean_bytes)
    (tmp_path / "near").mkdir()
    near = lines[0].replace(b"patient_id", b"patient_ix")
    _, _, _, summary = _score(tmp_path / "near", b"\n".join([*lines[:31], near, *lines[31:]]))
    assert "repeated_header" not in summary["quarantine_by_check"]


def test_validate_and_fit_name_the_repeated_header_line(tmp_path, clean_bytes):
    src = tmp_path / "data.csv"
    src.write_bytes(joined_exports(clean_bytes))
    res = _cli(["validate", "--data", src])
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and "repeated_header" in text and "the header line again" in text
    res = _cli(["fit", "--data", src, "--task", "mcid_odi_12m", "--out", tmp_path / "b"])
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "line 32: repeated_header: the header line again" in text


def test_scored_rows_keep_their_row_numbers_and_values(tmp_path, clean_bytes):
    """A broken row still takes its place: the rows after it keep their numbers, and the
    probabilities of the good rows are those of the clean file."""
    (tmp_path / "clean").mkdir()
    _, clean, _, _ = _score(tmp_path / "clean", clean_bytes)
    _, broken, _, _ = _score(tmp_path, short_row(clean_bytes))
    kept = clean[clean["row"] != 6].reset_index(drop=True)
    pd.testing.assert_frame_equal(broken, kept)


def test_strict_stops_at_a_broken_row_naming_its_line(tmp_path, clean_bytes):
    with pytest.raises(
        ScoreError,
        match=r"--strict: input row 6 \(line 7\): field_count: 30 fields; expected 154 fields",
    ):
        _score(tmp_path, short_row(clean_bytes), strict=True)
    assert not (tmp_path / "out.parquet").exists()


def test_latin1_is_refused_with_file_line_offset_and_byte_then_read_with_encoding(tmp_path, cohort):
    df = cohort.astype({"site": object}).copy()
    df.loc[41, "site"] = "Zürich"
    data = df.to_csv(index=False).encode("latin-1")
    at = data.index(b"\xfc")
    line = data[:at].count(b"\n") + 1
    assert line == 43  # data row 41
    with pytest.raises(
        TableReadError,
        match=rf"^in\.csv line 43: byte 0xfc at offset {at} is not valid UTF-8; if the file "
        r"was exported as Latin-1 or Windows-1252, pass --encoding latin-1",
    ):
        _score(tmp_path, data)
    assert not (tmp_path / "out.parquet").exists()
    summary, scored, quarantine, _ = _score(tmp_path, data, encoding="latin-1")
    assert summary["rows"] == {"read": N, "scored": N, "quarantined": 0, "problems": 0}
    assert summary["input"]["encoding"] == "iso8859-1"
    assert len(quarantine) == 0 and len(scored) == N
    table = read_table(tmp_path / "in.csv", encoding="latin-1")
    assert table.loc[43, "site"] == "Zürich"  # labelled by its line


def test_cp1252_bytes_it_does_not_define_are_named(tmp_path, clean_bytes):
    data = clean_bytes.replace(b"P0000003", b"P000000\x81", 1)
    (tmp_path / "w.csv").write_bytes(data)
    with pytest.raises(
        TableReadError, match=r"w\.csv line 4: byte 0x81 at offset \d+ is not valid cp1252"
    ):
        read_table(tmp_path / "w.csv", encoding="cp1252")


def test_semicolons_get_a_delimiter_hint_then_read_with_the_delimiter(tmp_path, cohort):
    data = cohort.to_csv(index=False, sep=";").encode()
    with pytest.raises(
        TableReadError,
        match=r"the header of in\.csv has 1 column but contains 153 ';' — it looks "
        r"semicolon-delimited; pass --delimiter ';'",
    ):
        _score(tmp_path, data)
    summary, scored, _, _ = _score(tmp_path, data, delimiter=";")
    assert summary["rows"]["scored"] == N == len(scored)


def test_decimal_commas_read_as_the_same_table_and_score_the_same(tmp_path, cohort):
    """The cohort written as a spreadsheet with decimal commas writes it (';' between
    fields, ',' in numbers) reads, with --decimal ',', as the same table as the plain CSV,
    and scores the same; read without it, its numbers are refused, not made categories."""
    euro = cohort.to_csv(index=False, sep=";", decimal=",").encode()
    assert b"," in euro  # numbers with a fraction
    (tmp_path / "e.csv").write_bytes(euro)
    got = read_table(tmp_path / "e.csv", delimiter=";", decimal=",")
    pd.testing.assert_frame_equal(got, read_table(_write(tmp_path, cohort)))
    plain, scored, _, _ = _score(tmp_path, cohort.to_csv(index=False).encode())
    euro_dir = tmp_path / "euro"
    euro_dir.mkdir()
    summary, scored_euro, _, _ = _score(euro_dir, euro, delimiter=";", decimal=",")
    assert summary["input"]["decimal"] == "," and plain["input"]["decimal"] == "."
    prob = [c for c in scored.columns if c.startswith("p_")]
    assert prob and scored_euro[prob].equals(scored[prob])
    res = _cli(["validate", "--data", str(tmp_path / "e.csv"), "--delimiter", ";"])
    assert res.exit_code != 0 and "--decimal ','" in " ".join(res.output.split())


def test_points_in_a_file_read_with_decimal_commas_are_refused_by_column(tmp_path):
    src = tmp_path / "p.csv"
    src.write_text(
        "patient_id;bmi;age;note;weight\na;28,4;58.0;v1.2;1.234,5\nb;31;61.5;v1.3;80\n",
        encoding="utf-8",
    )
    with pytest.raises(TableReadError) as err:
        read_table(src, delimiter=";", decimal=",")
    msg = str(err.value)
    assert msg.startswith(
        "p.csv is read with ',' as its decimal mark (--decimal ','), but numbers in it are "
        "written with '.', which is then neither a decimal point nor a thousands separator: "
        "column 'age': '58.0', '61.5' at lines 2, 3; column 'weight': '1.234,5' at line 2."
    ), msg
    assert "note" not in msg  # text with a '.' in it: a text column, left alone
    ok = read_table(src, delimiter=";", decimal=",", columns=["patient_id", "bmi", "note"])
    assert ok["bmi"].tolist() == [28.4, 31.0] and ok["note"].tolist() == ["v1.2", "v1.3"]


def test_tab_delimiter_by_name(tmp_path, cohort):
    (tmp_path / "t.csv").write_bytes(cohort.to_csv(index=False, sep="\t").encode())
    with pytest.raises(
        TableReadError, match=r"contains 153 '\\t' — it looks tab-delimited; pass --delimiter tab"
    ):
        read_table(tmp_path / "t.csv")
    got = read_table(tmp_path / "t.csv", delimiter="tab")
    pd.testing.assert_frame_equal(got, read_table(_write(tmp_path, cohort)))


def test_a_duplicated_header_name_is_refused_by_name(tmp_path, cohort):
    df = cohort.copy()
    names = list(df.columns)
    names[46] = "age_years"  # column 47; age_years is column 5
    df.columns = names
    data = df.to_csv(index=False).encode()
    with pytest.raises(
        TableReadError,
        match=r"^in\.csv: column 'age_years' appears twice in the header \(columns 5 and 47\)",
    ):
        _score(tmp_path, data)
    assert not (tmp_path / "out.parquet").exists()


def _write(tmp_path, df, name="ref.csv"):
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


# --- the same files through validate, fit and score-proms -------------------------------------


def _cli(args):
    res = runner.invoke(app, [str(a) for a in args])
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), (
        res.exception
    )
    assert "Traceback" not in res.output
    return res


@pytest.mark.parametrize("case", list(CASES))
def test_validate_lists_broken_rows_with_the_other_problems(tmp_path, clean_bytes, case):
    corrupt, expected, _, _ = CASES[case]
    src = tmp_path / "data.csv"
    src.write_bytes(corrupt(clean_bytes))
    report = tmp_path / "problems.csv"
    res = _cli(["validate", "--data", src, "--mode", "lenient", "--report", report])
    assert res.exit_code == 1
    problems = pd.read_csv(report, keep_default_na=False)
    row = problems[problems["check"] == expected[0][2]]
    assert len(row) == 1 and row["severity"].item() == "error"
    assert row["expected"].item().endswith(f"data.csv line {expected[0][1]}")
    assert row["lines"].item() == f"[{expected[0][1]}]"


def test_read_cohort_reports_and_load_cohort_refuses(tmp_path, clean_bytes):
    src = tmp_path / "data.csv"
    src.write_bytes(long_row(short_row(clean_bytes)))
    df, report = read_cohort(src, mode="lenient")
    assert len(df) == N - 2 and report.n_rows == N
    # the rows are labelled by their lines: the broken ones, 7 and 12, are not there
    assert 7 not in df.index and 12 not in df.index and df.index[-1] == N + 1
    err = report.errors
    assert err.iloc[0][["check", "n_rows"]].tolist() == ["field_count", 2]
    assert "CSV line(s) with the wrong number of fields" in report.summary()
    with pytest.raises(
        CsvStructureError, match=r"data\.csv: 2 row\(s\) with a broken structure"
    ) as e:
        load_cohort(src)
    assert [(p.line, p.check, p.value) for p in e.value.problems] == [
        (7, "field_count", "30 fields"),
        (12, "field_count", "155 fields"),
    ]
    assert "line 7: field_count: 30 fields; expected 154 fields" in str(e.value)


@pytest.mark.parametrize("command", ["fit", "score-proms", "evaluate"])
@pytest.mark.parametrize("case", ["short_row", "truncated_row", "open_quote"])
def test_fit_score_proms_and_evaluate_refuse_a_broken_file(tmp_path, clean_bytes, command, case):
    corrupt, expected, _, _ = CASES[case]
    src = tmp_path / "data.csv"
    src.write_bytes(corrupt(clean_bytes))
    args = {
        "fit": ["fit", "--data", src, "--task", "mcid_odi_12m", "--out", tmp_path / "b"],
        "score-proms": ["score-proms", "--data", src, "--out", tmp_path / "s.csv"],
        "evaluate": ["evaluate", "--bundle", DEMO_BUNDLE_PATH, "--data", src],
    }[command]
    res = _cli(args)
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "data.csv: 1 row(s) with a broken structure" in text
    assert f"line {expected[0][1]}: {expected[0][2]}:" in text
    assert not (tmp_path / "b").exists() and not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("validate", []),
        ("score-proms", ["--out", "s.csv"]),
        ("fit", ["--task", "mcid_odi_12m", "--out", "b"]),
    ],
)
def test_encoding_delimiter_and_header_errors_exit_2(tmp_path, cohort, command, extra):
    extra = [tmp_path / e if e in ("s.csv", "b") else e for e in extra]
    df = cohort.astype({"site": object}).copy()
    df.loc[3, "site"] = "Köln"
    (tmp_path / "l.csv").write_bytes(df.to_csv(index=False).encode("cp1252"))
    res = _cli([command, "--data", tmp_path / "l.csv", *extra])
    assert res.exit_code == 2
    assert "l.csv line 5: byte 0xf6 at offset" in " ".join(res.output.split())
    (tmp_path / "s.csv").unlink(missing_ok=True)
    (tmp_path / "semi.csv").write_bytes(cohort.to_csv(index=False, sep=";").encode())
    res = _cli([command, "--data", tmp_path / "semi.csv", *extra])
    assert res.exit_code == 2 and "pass --delimiter ';'" in res.output
    assert "missing_column" not in res.output


def test_validate_reads_latin1_and_semicolons_with_the_options(tmp_path, cohort):
    df = cohort.astype({"site": object}).copy()
    df.loc[3, "site"] = "Köln"
    src = tmp_path / "l.csv"
    src.write_bytes(df.to_csv(index=False, sep=";").encode("latin-1"))
    res = _cli(["validate", "--data", src, "--encoding", "latin-1", "--delimiter", ";"])
    assert res.exit_code == 0, res.output
    assert f"{N} rows checked: 0 error(s)" in res.output


# --- the reader itself ------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["lf", "crlf", "cr", "gz", "bom"])
def test_a_sound_file_reads_as_pandas_reads_it(tmp_path, cohort, variant):
    """Values and types are pandas' own (the reader hands pandas the rows unchanged)."""
    ref = pd.read_csv(
        io.BytesIO(cohort.to_csv(index=False).encode()),
        low_memory=False,
        dtype=dict.fromkeys(
            (
                "patient_id",
                "site",
                "region",
                "diagnosis",
                "sex",
                "smoking",
                "employment",
                "index_level",
                "treatment",
            ),
            str,
        ),
    )
    data = cohort.to_csv(index=False).encode()
    name = "c.csv"
    if variant == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif variant == "cr":
        data = data.replace(b"\n", b"\r")
    elif variant == "bom":
        data = b"\xef\xbb\xbf" + data
    elif variant == "gz":
        data, name = gzip.compress(data, mtime=0), "c.csv.gz"
    (tmp_path / name).write_bytes(data)
    got = read_table(tmp_path / name)
    assert got.index.name == "line" and got.index.tolist() == list(range(2, N + 2))
    pd.testing.assert_frame_equal(got[ref.columns].reset_index(drop=True), ref, check_dtype=True)


def test_lines_count_line_breaks_inside_quoted_values(tmp_path):
    text = 'patient_id,note,age_years\nP1,"two\nlines",40\nP2,plain,41\n\nP3,"a ""quoted"", value",42\n'
    (tmp_path / "n.csv").write_text(text)
    header = read_csv_header(tmp_path / "n.csv")
    (batch,) = iter_csv_batches(header, None, 10, ["patient_id"])
    assert batch.lines.tolist() == [2, 4, 6]  # line 5 is blank: no row
    assert batch.frame["note"].tolist() == ["two\nlines", "plain", 'a "quoted", value']
    assert batch.problems == ()


def test_a_closed_quoted_last_value_is_a_complete_last_line(tmp_path):
    (tmp_path / "q.csv").write_text('patient_id,note\nP1,"x"\nP2,"y"')
    assert read_table(tmp_path / "q.csv")["note"].tolist() == ["x", "y"]
    (tmp_path / "u.csv").write_text("patient_id,note\nP1,x\nP2,y")
    with pytest.raises(
        CsvStructureError, match=r"line 3: truncated_row: 2 fields and no line break"
    ):
        read_table(tmp_path / "u.csv")


def test_a_quote_left_open_mid_file_names_where_it_opened(tmp_path):
    # the stray quote on line 3 swallows line 4 up to the legitimate quote on line 5
    text = 'id,a,b\n1,x,y\n2,"x,y\n3,x,y\n4,"z",w\n5,x,y\n'
    (tmp_path / "o.csv").write_text(text)
    header = read_csv_header(tmp_path / "o.csv")
    (batch,) = iter_csv_batches(header, None, 10)
    (p,) = batch.problems
    assert (p.row, p.line, p.check) == (1, 3, "open_quote")
    assert p.value.startswith("a quoted value opened on line 3 runs to line 5")
    assert "lines 3–5 (3 lines, 3 fields) were read as this one row" in p.value
    assert batch.lines.tolist() == [2, 3, 6]
    assert batch.frame["id"].tolist()[::2] == [1, 5] and np.isnan(batch.frame["id"][1])


def test_small_blocks_give_the_same_rows_problems_and_lines(tmp_path, monkeypatch, clean_bytes):
    data = open_quote(long_row(short_row(clean_bytes)).replace(b"\n", b"\r\n"))
    (tmp_path / "x.csv").write_bytes(data)

    def read():
        header = read_csv_header(tmp_path / "x.csv")
        batches = list(iter_csv_batches(header, None, 7, ["patient_id"]))
        frame = pd.concat([b.frame for b in batches], ignore_index=True)
        return (
            frame,
            np.concatenate([b.lines for b in batches]),
            sum((b.problems for b in batches), ()),
        )

    big = read()
    monkeypatch.setattr(csv_source, "BLOCK_BYTES", 997)  # blocks end mid-row, mid-CRLF
    small = read()
    pd.testing.assert_frame_equal(big[0], small[0])
    assert big[1].tolist() == small[1].tolist() and big[2] == small[2]
    assert [p.check for p in big[2]] == ["field_count", "field_count", "open_quote"]


def test_a_row_longer_than_the_limit_stops_the_read_naming_the_quote(
    tmp_path, monkeypatch, clean_bytes
):
    monkeypatch.setattr(csv_source, "BLOCK_BYTES", 1000)
    monkeypatch.setattr(csv_source, "MAX_ROW_BYTES", 4000)
    (tmp_path / "x.csv").write_bytes(open_quote(clean_bytes))
    header = read_csv_header(tmp_path / "x.csv")
    with pytest.raises(TableReadError, match=r"a quote opened on line 22 is probably left open"):
        list(iter_csv_batches(header, None, 10))


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"encoding": "utf-16"}, r"encoding 'utf-16' cannot be read: the CSV reader needs UTF-8"),
        ({"encoding": "klingon"}, r"unknown encoding 'klingon'"),
        ({"delimiter": '"'}, r"delimiter '\"': expected one ASCII character"),
        ({"delimiter": ";;"}, r"delimiter ';;'"),
        ({"decimal": ";"}, r"decimal mark ';': expected '\.' or ','"),
        ({"decimal": ","}, r"decimal mark ',' is also the field delimiter; .* --delimiter ';'"),
    ],
)
def test_options_are_checked(kw, match):
    with pytest.raises(TableReadError, match=match):
        CsvDialect(**kw)


def test_options_apply_to_csv_only_and_utf16_files_are_named(tmp_path, cohort):
    cohort.head(3).to_parquet(tmp_path / "c.parquet")
    with pytest.raises(TableReadError, match=r"apply to CSV files only; 'c.parquet' is parquet"):
        read_table(tmp_path / "c.parquet", encoding="latin-1")
    with pytest.raises(TableReadError, match=r"--decimal apply to CSV files only"):
        read_table(tmp_path / "c.parquet", decimal=",")
    (tmp_path / "w.csv").write_bytes(cohort.head(3).to_csv(index=False).encode("utf-16"))
    with pytest.raises(TableReadError, match=r"'w.csv' is UTF-16"):
        read_table(tmp_path / "w.csv")


@pytest.mark.parametrize("codec, order", [("utf-16-le", "LE"), ("utf-16-be", "BE")])
def test_utf16_without_a_byte_order_mark_is_named(tmp_path, cohort, codec, order):
    """SQL Server's ``bcp -w`` writes UTF-16LE without a byte-order mark: every ASCII
    byte has a 0 beside it, valid UTF-8 that used to be read as 161 contract errors."""
    (tmp_path / "w.tsv").write_bytes(cohort.head(3).to_csv(index=False, sep="\t").encode(codec))
    with pytest.raises(
        TableReadError, match=rf"'w.tsv' is UTF-16 text without a byte-order mark.*UTF-16{order}"
    ):
        read_table(tmp_path / "w.tsv")


@pytest.mark.parametrize("encoding", [None, "latin-1"])
def test_nul_bytes_are_refused_by_line(tmp_path, cohort, encoding):
    """A file padded with zeros after its last complete row (an interrupted copy)."""
    text = cohort.head(5).to_csv(index=False).encode()
    (tmp_path / "z.csv").write_bytes(text + b"\x00" * 300)
    with pytest.raises(TableReadError) as e:
        read_table(tmp_path / "z.csv", encoding=encoding)
    assert str(e.value).startswith(
        f"z.csv line 7: byte 0x00 (NUL) at offset {len(text)}, 300 in this part of the file"
    )


def test_an_empty_header_name_is_named_as_pandas_names_it(tmp_path):
    (tmp_path / "e.csv").write_text("patient_id,,age_years\nP1,,40\n")
    assert list(read_table(tmp_path / "e.csv").columns) == ["patient_id", "Unnamed: 1", "age_years"]


# --- the scan against Python's csv module and pandas ------------------------------------------

_PIECES = ["a", "1", ",", '"', '""', "\n", "\r\n", "\r", " ", "\t", ',"', '",']


def _reference(text: str) -> list[tuple[int, int]]:
    """``(fields, line)`` of every record by Python's csv module (the same quoting rules as
    pandas' tokenizer), blank lines (spaces and tabs only) left out as pandas does."""
    raw = io.StringIO(text, newline="").readlines()
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    out, before = [], 0
    for record in reader:
        start, before = before + 1, reader.line_num
        if not record or (before == start and not raw[start - 1].rstrip("\r\n").strip(" \t")):
            continue
        out.append((len(record), start))
    return out


@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=60), st.integers(0, 60))
def test_scan_agrees_with_csv_and_pandas(pieces, cut):
    text = "".join(pieces)
    data = text.encode()
    block = scan_block(data, ord(","), 1, True, None)
    ours = list(zip(block.fields.tolist(), block.lines.tolist(), strict=True))
    try:
        reference = _reference(text)
    except csv.Error:  # the csv module's end-of-data inside quotes
        reference = None
    if reference is not None:
        assert ours == reference
    # split anywhere: the same records
    cut = min(cut, len(data))
    first = scan_block(data[:cut], ord(","), 1, False, None)
    rest = scan_block(data[first.consumed :], ord(","), 1 + first.lines_consumed, True, None)
    split = list(zip(first.fields.tolist(), first.lines.tolist(), strict=True))
    split += list(zip(rest.fields.tolist(), rest.lines.tolist(), strict=True))
    assert split == ours
    # pandas parses the complete records into exactly as many rows
    ended = [i for i in range(len(block)) if block.nexts[i] > block.ends[i]]
    if ended and len({int(block.fields[i]) for i in ended}) == 1:
        fixed = bytearray(data)
        for p in block.lone_crs.tolist():
            fixed[p] = 10
        k = int(block.fields[ended[0]])
        df = pd.read_csv(
            io.BytesIO(bytes(fixed[: block.nexts[ended[-1]]])),
            header=None,
            names=list(range(k)),
            index_col=False,
            dtype=str,
            keep_default_na=False,
        )
        assert len(df) == len(ended)


def test_messages_name_no_values_but_the_broken_rows_own(tmp_path, cohort, clean_bytes):
    """A structural problem's text holds counts and lines, never a patient's values."""
    src = tmp_path / "d.csv"
    src.write_bytes(short_row(clean_bytes))
    with pytest.raises(CsvStructureError) as e:
        read_table(src)
    values = {str(v) for v in cohort.iloc[5].tolist() if len(str(v)) > 3}
    assert not {v for v in values if re.search(re.escape(v), str(e.value))}


def _comma_text(cohort, column, words: dict[int, str]) -> pd.DataFrame:
    """``cohort`` with ``column`` written as a decimal-comma spreadsheet writes it, as text
    (so that ``to_csv`` keeps the commas), and ``words`` put in at their rows."""
    out = cohort.copy()
    out[column] = out[column].map(lambda v: v if v != v else f"{v}".replace(".", ","))
    for row, word in words.items():
        out.loc[row, column] = word
    return out


def test_decimal_commas_beside_a_declared_marker_score_as_numbers(tmp_path, cohort):
    """A column of comma numbers with a declared missing marker in it is text to pandas;
    its numbers were then refused row by row as not numbers (26 of 60 rows quarantined).
    It scores as the same file written with points and empty cells."""
    col = "bmi_kg_m2"
    marked = _comma_text(cohort, col, {3: "n/a", 7: "n/a"})
    euro = marked.to_csv(index=False, sep=";", decimal=",").encode()
    assert b";n/a;" in euro and re.search(rb";\d+,\d;", euro)
    blank = cohort.copy()
    blank.loc[[3, 7], col] = np.nan
    _, scored, _, _ = _score(tmp_path, blank.to_csv(index=False).encode())
    euro_dir = tmp_path / "euro"
    euro_dir.mkdir()
    summary, scored_euro, quarantine, _ = _score(
        euro_dir, euro, delimiter=";", decimal=",", missing_values=["n/a"]
    )
    assert summary["rows"] == {"read": N, "scored": N, "quarantined": 0, "problems": 0}
    assert len(quarantine) == 0
    assert summary["missing_values"]["cells_declared_missing"] == {col: 2}
    prob = [c for c in scored.columns if c.startswith("p_")]
    assert prob and scored_euro[prob].equals(scored[prob])


def test_decimal_commas_beside_a_word_are_numbers_and_the_word_is_refused(tmp_path, cohort):
    """Without a marker, the word is the one problem — in the scorer's quarantine and in
    ``prom validate`` — as in the same file written with points."""
    col = "bmi_kg_m2"
    worded = _comma_text(cohort, col, {5: "abc"})
    euro = tmp_path / "e.csv"
    euro.write_bytes(worded.to_csv(index=False, sep=";", decimal=",").encode())
    plain = cohort.copy()
    plain[col] = plain[col].astype(object)
    plain.loc[5, col] = "abc"
    points = _write(tmp_path, plain, "p.csv")
    summary, _, quarantine, _ = _score(tmp_path, euro.read_bytes(), delimiter=";", decimal=",")
    assert summary["rows"] == {"read": N, "scored": N - 1, "quarantined": 1, "problems": 1}
    assert quarantine[["row", "column", "check", "value"]].values.tolist() == [
        [6, col, "type", "abc"]
    ]
    reports = []
    for src, extra in ((euro, ["--delimiter", ";", "--decimal", ","]), (points, [])):
        report = tmp_path / f"{src.stem}.problems.csv"
        res = _cli(["validate", "--data", src, "--mode", "lenient", "--report", report, *extra])
        assert res.exit_code == 1 and "--decimal" not in res.output  # no hint to pass it
        reports.append(pd.read_csv(report, keep_default_na=False))
    pd.testing.assert_frame_equal(reports[0], reports[1])
    by_check = reports[0].set_index("check")
    assert set(by_check.index) == {"type", "coercible_type"}
    assert by_check.loc["type", "values"] == "['abc']" and by_check.loc["type", "lines"] == "[7]"
    filled = int(worded[col].notna().sum())
    assert by_check.loc["coercible_type", "n_rows"] == filled - 1  # every number but 'abc'


def test_tsv_files_are_read_with_the_tab_and_score_the_same(tmp_path, cohort):
    """``.tsv`` (and ``.tsv.gz``): a CSV file whose delimiter is a tab unless told
    otherwise — the same table, the same scores; a workbook is refused with how to
    export it."""
    plain = read_table(_write(tmp_path, cohort))
    tsv = tmp_path / "t.tsv"
    tsv.write_bytes(cohort.to_csv(index=False, sep="\t").encode())
    gz = tmp_path / "t.tsv.gz"
    gz.write_bytes(gzip.compress(tsv.read_bytes()))
    for path in (tsv, gz):
        pd.testing.assert_frame_equal(read_table(path), plain)
    semi = tmp_path / "s.tsv"  # told otherwise: the option wins
    semi.write_bytes(cohort.to_csv(index=False, sep=";").encode())
    pd.testing.assert_frame_equal(read_table(semi, delimiter=";"), plain)
    _, scored, _, _ = _score(tmp_path, cohort.to_csv(index=False).encode())
    tab_dir = tmp_path / "tab"
    tab_dir.mkdir()
    summary, scored_tab, _, _ = _score(tab_dir, tsv.read_bytes(), name="in.tsv")
    assert summary["rows"]["scored"] == N and summary["input"]["delimiter"] == "\t"
    prob = [c for c in scored.columns if c.startswith("p_")]
    assert prob and scored_tab[prob].equals(scored[prob])
    res = _cli(["validate", "--data", tsv])
    assert res.exit_code == 0, res.output
    book = tmp_path / "registry.xlsx"
    book.write_bytes(b"PK\x03\x04")
    with pytest.raises(TableReadError, match=r"spreadsheet workbook: save the sheet as CSV"):
        read_table(book)
    res = _cli(["validate", "--data", book])
    assert res.exit_code == 2 and "save the sheet as CSV" in " ".join(res.output.split())


def test_a_spreadsheet_sep_line_is_skipped_or_names_the_delimiter(tmp_path, cohort):
    """Excel writes (and reads) a first line ``sep=;`` before the header. Read with that
    delimiter, the line is skipped: the same table, the same scores, lines still counted
    from the file's first line; read with another, the file is refused with the option
    to pass (it was taken for a header of two columns, and every row broke)."""
    body = cohort.to_csv(index=False, sep=";").encode().replace(b"\n", b"\r\n")
    data = b"\xef\xbb\xbfsep=;\r\n" + body  # with the byte-order mark Excel adds
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    with_sep = read_table(path, delimiter=";")
    assert with_sep.index[0] == 3  # the header is on line 2, the first row on line 3
    pd.testing.assert_frame_equal(
        with_sep.reset_index(drop=True),
        read_table(_write(tmp_path, cohort)).reset_index(drop=True),
    )
    with pytest.raises(
        TableReadError,
        match=r"'x\.csv' starts with the line 'sep=;', which declares ';' as its delimiter "
        r"\(spreadsheet programs write it\), but it is read with ',': pass --delimiter ';'",
    ):
        read_table(path)
    summary, _, _, _ = _score(tmp_path, data, name="x.csv", delimiter=";")
    assert summary["rows"] == {"read": N, "scored": N, "quarantined": 0, "problems": 0}
    lines = data.split(b"\r\n")
    lines[8] = b";".join(lines[8].split(b";")[:5])  # data row 6 (row 7 counted from 1), line 9
    broken = tmp_path / "broken"
    broken.mkdir()
    summary, _, quarantine, _ = _score(broken, b"\r\n".join(lines), name="x.csv", delimiter=";")
    assert summary["rows"]["quarantined"] == 1
    assert quarantine[["row", "line", "check"]].values.tolist() == [[7, 9, "field_count"]]
    res = _cli(["validate", "--data", path])
    assert res.exit_code == 2 and "pass --delimiter ';'" in " ".join(res.output.split())
