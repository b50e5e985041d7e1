"""Row checks of the bulk scorer: parsing once, category columns from any source, and
duplicated ids looked up by position."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from prom.cohort.contract import COHORT_CONTRACT
from prom.cohort.parsing import object_view, parse_category
from prom.score import ScoreError
from prom.score.checks import (
    DuplicateIds,
    check_rows,
    coerce_columns,
    find_duplicates,
    id_hashes,
)


def test_text_is_stripped_exactly_like_python_str_strip():
    raw = ["  a ", "\u2003b\x1c", "\u00a0", "", "c", None, np.nan, "\u0085d\u3000"]
    arr, missing, _ = object_view(pd.Series(raw, dtype=object))
    want = [x.strip() if isinstance(x, str) else None for x in raw]
    want = [None if w == "" else w for w in want]
    assert list(arr) == want
    np.testing.assert_array_equal(missing, [w is None for w in want])


def test_a_category_column_parses_the_same_as_text_or_as_categorical():
    spec = COHORT_CONTRACT["sex"]
    text = pd.Series(["male", " ", None, "Male", "female", "male", "x"], dtype=object)
    cat = pd.Series(pd.Categorical(text))  # as a Parquet dictionary column reads
    a, b = parse_category(text, spec), parse_category(cat, spec)
    for field in ("missing", "bad", "codes"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert list(a.values) == list(b.values)
    np.testing.assert_array_equal(a.missing, [0, 1, 1, 0, 0, 0, 0])
    np.testing.assert_array_equal(a.bad, [0, 0, 0, 1, 0, 0, 1])
    cats = list(spec.categories)
    np.testing.assert_array_equal(
        a.codes, [cats.index("male"), -1, -1, -1, cats.index("female"), cats.index("male"), -1]
    )


def test_checked_columns_are_converted_from_what_the_checks_parsed():
    frame = pd.DataFrame(
        {
            "age_years": ["61", "abc", 70.0],
            "sex": ["male", "female", "M"],
            "diabetes": ["yes", 0, 1],
        },
        dtype=object,
    )
    cols = ["age_years", "sex", "diabetes"]
    parsed: dict = {}
    problems = check_rows(frame, cols, parsed)
    assert set(parsed) == set(cols)
    assert sorted(zip(problems["position"], problems["column"], strict=True)) == [
        (1, "age_years"),
        (2, "sex"),
    ]
    once, twice = coerce_columns(frame, cols, parsed), coerce_columns(frame, cols)
    np.testing.assert_array_equal(once["age_years"], twice["age_years"])
    np.testing.assert_array_equal(once["diabetes"], [1.0, 0.0, 1.0])
    assert isinstance(once["sex"].dtype, pd.CategoricalDtype)
    assert list(once["sex"].astype(object)) == ["male", "female", np.nan]


def test_duplicate_rows_are_found_over_the_whole_input_and_looked_up_per_batch():
    ids = np.array(["a", "b", "c", "b", None, "d", "a", "b"], dtype=object)
    h, present = id_hashes(ids)
    d = find_duplicates(h, present)
    np.testing.assert_array_equal(d.rows, [0, 1, 3, 6, 7])
    np.testing.assert_array_equal(d.counts, [2, 3, 3, 2, 3])
    pos, counts, hashes = d.within(3, 4)  # the batch of input rows 3..6
    np.testing.assert_array_equal(pos, [0, 3])
    np.testing.assert_array_equal(counts, [3, 2])
    np.testing.assert_array_equal(hashes, h[[3, 6]])
    assert find_duplicates(*id_hashes(np.array(["x", "y"], dtype=object))).rows.size == 0


def test_scoring_refuses_an_input_whose_duplicates_moved():
    from prom.score.core import _duplicates

    ids = np.array(["a", "b", "a"], dtype=object)
    plan = types.SimpleNamespace(duplicates=find_duplicates(*id_hashes(ids)))
    found = _duplicates(ids, 0, plan)
    assert list(found["position"]) == [0, 2]
    assert "on 2 rows" in found["expected"].iloc[0]
    with pytest.raises(ScoreError, match="input changed"):
        _duplicates(np.array(["b", "a", "a"], dtype=object), 0, plan)
    assert _duplicates(ids, 3, types.SimpleNamespace(duplicates=DuplicateIds())) is None


def test_wide_batches_get_new_columns_without_fragmentation_warnings(tmp_path):
    """A Parquet batch is read with a block per column; adding columns must not trip
    pandas' fragmentation warning (an error under this suite's warning filter)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from prom.score.source import Piece, read_piece, with_columns

    names = [f"img_x{i}" for i in range(150)]
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({c: np.arange(10.0) for c in names}), path)
    (batch,) = read_piece(Piece(str(path), 0, 0, 10, ()), [*names, "absent"], 64)
    assert list(batch.columns) == [*names, "absent"] and batch["absent"].isna().all()
    out = with_columns(batch, {"img_x0": np.ones(10), "new_a": np.zeros(10), "new_b": np.zeros(10)})
    assert out.shape == (10, 153) and (out["img_x0"] == 1).all()
    assert (batch["img_x0"] == np.arange(10.0)).all()  # the batch itself is unchanged
