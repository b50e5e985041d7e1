"""Booster files a user hands over are refused cleanly, never crash the process.

Every corrupt variant here is made from a real model file this package wrote (the
session's ``score_bundle``: an XGBoost and a LightGBM model for the binary ODI task, a
LightGBM model for the three-class triage task). Without the checks, several of them
kill the process: a LightGBM tree array shorter than its ``num_leaves`` says aborts it
(SIGABRT), a cut-off file or ``tree_sizes`` past the end of the file and an XGBoost
child index outside its tree are segmentation faults. That this test process is still
running after each case is part of what is tested.

Bundle-level tests load re-hashed bundles (the manifest's hashes recomputed over the
corrupt file) only through :func:`load_rehashed` and :func:`cli_bundle_args`, so a
change to how such a bundle must be loaded (a signature opt-out) is made in one place.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from prom.bundle import (
    MANIFEST,
    Bundle,
    BundleError,
    load_bundle,
    manifest_id,
    sha256_file,
    sign_bundle,
)
from prom.bundle.booster_guard import BoosterFile, trial_load
from prom.bundle.booster_types import MAX_BOOSTER_BYTES
from prom.bundle.formats import load_estimator
from prom.bundle.ubjson import UBJSONError, read_ubjson

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")

ROOT = Path(__file__).resolve().parents[1]
ODI_LGB = "mcid_odi_12m/lightgbm/model.txt"
ODI_XGB = "mcid_odi_12m/xgboost/model.ubj"
TRIAGE_LGB = "triage/lightgbm/model.txt"
N_CLASSES = {ODI_LGB: 2, ODI_XGB: 2, TRIAGE_LGB: 3}
FORMATS = {".txt": "lightgbm-text", ".ubj": "xgboost-ubj"}


# --- loading a re-hashed bundle: the one place that knows how --------------------------------


def load_rehashed(bundle: Path) -> Bundle:
    """Load a bundle whose manifest was re-sealed by these tests (hashes recomputed)."""
    return load_bundle(bundle)


def cli_bundle_args(bundle: Path) -> list[str]:
    """The CLI options that name a bundle re-sealed by these tests."""
    return ["--bundle", str(bundle)]


# --- helpers ----------------------------------------------------------------------------------


def reseal(bundle: Path) -> None:
    """Recompute every file's hash and the bundle_id, then re-sign with the lab's key."""
    m = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    m["files"] = {rel: sha256_file(bundle / rel) for rel in m["files"]}
    m["bundle_id"] = manifest_id(m)
    (bundle / MANIFEST).write_text(json.dumps(m), encoding="utf-8")
    # and signed again with the lab's trusted key (conftest's ``lab_keys``): what is tested
    # here is a corrupt file from a trusted author, which the signature cannot catch
    sign_bundle(bundle, os.environ["PROM_SIGNING_KEY"])


def corrupt_copy(src: Path, dst: Path, rel: str, data: bytes) -> Path:
    shutil.copytree(src, dst)
    (dst / rel).write_bytes(data)
    reseal(dst)
    return dst


def text_edit(data: bytes, old: str, new: str, start: str = "Tree=3\n") -> bytes:
    """Replace the first ``old`` after ``start`` (default: in the fourth tree)."""
    text = data.decode()
    i = text.index(old, text.index(start))
    return (text[:i] + new + text[i + len(old) :]).encode()


def line_edit(data: bytes, key: str, edit: Callable[[str], str], start: str = "Tree=3\n") -> bytes:
    """Apply ``edit`` to the value of the first ``key=`` line after ``start``."""
    text = data.decode()
    i = text.index(f"\n{key}=", text.index(start)) + len(key) + 2
    j = text.index("\n", i)
    return (text[:i] + edit(text[i:j]) + text[j:]).encode()


def ubj_int32(data: bytes, key: str, index: int, value: int) -> bytes:
    """Overwrite element ``index`` of the first typed int32 array ``key`` (tree 0)."""
    head = key.encode() + b"[$l#L"
    at = data.index(head) + len(head) + 8 + 4 * index
    return data[:at] + struct.pack(">i", value) + data[at + 4 :]


def ubj_count(data: bytes, key: str, count: int) -> bytes:
    """Overwrite the declared length of the first typed int32 array ``key``."""
    head = key.encode() + b"[$l#L"
    at = data.index(head) + len(head)
    return data[:at] + struct.pack(">q", count) + data[at + 8 :]


def ubj_text(data: bytes, key: str, value: bytes) -> bytes:
    """Overwrite the first text value ``key`` with one of the same length."""
    head = key.encode() + b"SL"
    at = data.index(head) + len(head)
    (n,) = struct.unpack(">q", data[at : at + 8])
    assert len(value) == n
    return data[: at + 8] + value + data[at + 8 + n :]


def garbage(n: int) -> bytes:
    return np.random.default_rng(13).integers(0, 256, n, dtype=np.uint8).tobytes()


# --- the corrupt variants -----------------------------------------------------------------------

#: (id, file, corruption of the original bytes, what the refusal says)
CASES: list[tuple[str, str, Callable[[bytes], bytes], str]] = [
    ("lgb-empty", ODI_LGB, lambda d: b"", "the file is empty"),
    ("lgb-garbage", ODI_LGB, lambda d: garbage(4096), "NUL byte|not UTF-8"),
    ("lgb-truncated", ODI_LGB, lambda d: d[: len(d) // 2], "last line is not complete"),
    (
        "lgb-truncated-at-line",
        ODI_LGB,
        lambda d: d[: d.index(b"\n", len(d) // 3) + 1],
        r"Tree=\d+ is not closed by a blank line \(cut off\?\)",
    ),
    (
        "lgb-short-array",
        ODI_LGB,
        lambda d: line_edit(d, "leaf_value", lambda v: v.rsplit(" ", 1)[0]),
        r"Tree=3: leaf_value has \d+ values, expected \d+ for num_leaves",
    ),
    (
        "lgb-long-array",
        TRIAGE_LGB,
        lambda d: line_edit(d, "threshold", lambda v: v + " 0.5"),
        "Tree=3: threshold has",
    ),
    (
        "lgb-huge-num-leaves",
        ODI_LGB,
        lambda d: line_edit(d, "num_leaves", lambda v: "99999999"),
        r"num_leaves=99999999, more than LightGBM allows \(131072\)",
    ),
    (
        "lgb-num-leaves-and-arrays-disagree",
        ODI_LGB,
        lambda d: line_edit(d, "num_leaves", lambda v: str(int(v) + 1)),
        "Tree=3: .* has .* values, expected",
    ),
    (
        "lgb-number-does-not-parse",
        ODI_LGB,
        lambda d: line_edit(d, "leaf_value", lambda v: "0.1x" + v[3:]),
        "Tree=3: leaf_value is not a list of numbers",
    ),
    (
        "lgb-infinite-number",
        ODI_LGB,
        lambda d: line_edit(d, "leaf_value", lambda v: "1e999" + v[v.index(" ") :]),
        "too large to be finite",
    ),
    (
        "lgb-child-outside-tree",
        ODI_LGB,
        lambda d: line_edit(d, "left_child", lambda v: "77" + v[v.index(" ") :]),
        "child index 77 is not a node",
    ),
    (
        "lgb-child-is-the-root",
        ODI_LGB,
        lambda d: line_edit(d, "right_child", lambda v: "0" + v[v.index(" ") :]),
        "child index 0 is not a node|do not form a tree",
    ),
    (
        "lgb-split-feature-outside",
        ODI_LGB,
        lambda d: line_edit(d, "split_feature", lambda v: "5000" + v[v.index(" ") :]),
        "split_feature holds .* outside",
    ),
    (
        "lgb-tree-sizes-past-the-end",
        ODI_LGB,
        lambda d: line_edit(d, "tree_sizes", lambda v: "9999999999" + v[v.index(" ") :], "tree"),
        r"tree_sizes lists (\d+) sizes that do not match the \1 Tree= blocks \(first difference",
    ),
    (
        "lgb-tree-sizes-too-long-a-number",
        ODI_LGB,
        lambda d: line_edit(d, "tree_sizes", lambda v: "100000000000" + v[v.index(" ") :], "tree"),
        r"\(line 10\): tree_sizes is not a list of whole numbers",
    ),
    (
        "lgb-no-end-of-trees",
        ODI_LGB,
        lambda d: d.replace(b"end of trees\n", b""),
        "expected a Tree= block or 'end of trees'",
    ),
    (
        "lgb-trees-out-of-order",
        ODI_LGB,
        lambda d: text_edit(d, "Tree=3\n", "Tree=9\n", "Tree=2\n"),
        "'Tree=9' where Tree=3 was expected",
    ),
    (
        "lgb-unknown-tree-key",
        ODI_LGB,
        lambda d: text_edit(d, "shrinkage=", "shrinkage_x="),
        "Tree=3: unexpected line 'shrinkage_x=",
    ),
    (
        "lgb-categorical-tree",
        ODI_LGB,
        lambda d: line_edit(d, "num_cat", lambda v: "1"),
        "categorical splits",
    ),
    (
        "lgb-carriage-returns",
        ODI_LGB,
        lambda d: d.replace(b"\n", b"\r\n"),
        "a carriage return",
    ),
    (
        "lgb-no-header-key",
        ODI_LGB,
        lambda d: text_edit(d, "label_index=0\n", "", "tree"),
        "the header has no label_index=",
    ),
    (
        "lgb-regression-objective",
        ODI_LGB,
        lambda d: text_edit(d, "objective=binary sigmoid:1", "objective=regression", "tree"),
        "objective 'regression'",
    ),
    (
        "lgb-feature-names-short",
        ODI_LGB,
        lambda d: line_edit(d, "feature_names", lambda v: v.rsplit(" ", 1)[0], "tree"),
        r"feature_names lists 49 entries, expected 50",
    ),
    (
        "lgb-num-class-vs-trees-per-iteration",
        ODI_LGB,
        lambda d: d.replace(b"num_class=1\n", b"num_class=3\n", 1),
        "num_tree_per_iteration=1 with num_class=3",
    ),
    (
        "lgb-parameter-with-a-quote",
        ODI_LGB,
        lambda d: d.replace(b"[metric: binary_logloss]", b'[metric: binary"logloss]'),
        "unexpected line '\\[metric",
    ),
    (
        "lgb-parameter-without-colon",
        ODI_LGB,
        lambda d: d.replace(b"[metric: binary_logloss]", b"[metric binary_logloss]"),
        "unexpected line '\\[metric binary",
    ),
    (
        "lgb-pandas-categorical-deep",
        ODI_LGB,
        lambda d: d.replace(b"pandas_categorical:null", b"pandas_categorical:" + b"[" * 100000),
        "pandas_categorical is not valid JSON",
    ),
    ("xgb-empty", ODI_XGB, lambda d: b"", "the file is empty"),
    ("xgb-garbage", ODI_XGB, lambda d: b"\x07" + garbage(4096), "unsupported type marker"),
    (
        "xgb-truncated",
        ODI_XGB,
        lambda d: d[: len(d) // 2],
        "not a readable XGBoost UBJSON model .*(left in the file|byte\\(s\\) left)",
    ),
    (
        "xgb-deeply-nested",
        ODI_XGB,
        lambda d: b"[" * 100000,
        "nesting deeper than 16 levels",
    ),
    (
        "xgb-count-larger-than-file",
        ODI_XGB,
        lambda d: ubj_count(d, "left_children", 2**40),
        "declares 1099511627776 item\\(s\\), more than",
    ),
    ("xgb-trailing-bytes", ODI_XGB, lambda d: d + b"{}", "byte\\(s\\) after the end"),
    (
        "xgb-child-outside-tree",
        ODI_XGB,
        lambda d: ubj_int32(d, "left_children", 0, 0x7FFFFFF0),
        r"trees\[0\]: a child index outside",
    ),
    (
        "xgb-split-feature-outside",
        ODI_XGB,
        lambda d: ubj_int32(d, "split_indices", 0, 100000),
        r"trees\[0\]/split_indices: a feature index outside",
    ),
    (
        "xgb-num-class-vs-objective",
        ODI_XGB,
        lambda d: ubj_text(d, "num_class", b"3"),
        "num_class: 3 with objective binary:logistic",
    ),
    (
        "xgb-objective",
        ODI_XGB,
        lambda d: d.replace(b"binary:logistic", b"binary:logitraw", 1),
        "objective/name: 'binary:logitraw'",
    ),
]


@pytest.fixture(scope="module")
def originals(score_bundle) -> dict[str, bytes]:
    return {rel: (score_bundle / rel).read_bytes() for rel in N_CLASSES}


@pytest.mark.parametrize(
    ("rel", "corrupt", "says"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_load_estimator_refuses_a_corrupt_file(tmp_path, originals, rel, corrupt, says):
    path = tmp_path / Path(rel).name
    path.write_bytes(corrupt(originals[rel]))
    with pytest.raises(BundleError, match=says) as e:
        load_estimator(FORMATS[path.suffix], path, N_CLASSES[rel])
    assert str(path) in str(e.value)
    assert str(e.value).endswith("refusing it")


#: Bundle-level cases: the ones that kill an unprotected process, and one per gate-1 kind.
BUNDLE_CASES = (
    "lgb-truncated",
    "lgb-short-array",
    "lgb-huge-num-leaves",
    "lgb-tree-sizes-past-the-end",
    "lgb-garbage",
    "lgb-empty",
    "xgb-truncated",
    "xgb-garbage",
    "xgb-deeply-nested",
    "xgb-child-outside-tree",
)


@pytest.mark.parametrize(
    ("rel", "corrupt", "says"),
    [c[1:] for c in CASES if c[0] in BUNDLE_CASES],
    ids=[c[0] for c in CASES if c[0] in BUNDLE_CASES],
)
def test_load_bundle_refuses_a_rehashed_bundle_with_a_corrupt_file(
    tmp_path, score_bundle, originals, rel, corrupt, says
):
    bundle = corrupt_copy(score_bundle, tmp_path / "b", rel, corrupt(originals[rel]))
    with pytest.raises(BundleError, match=says) as e:
        load_rehashed(bundle)
    assert str(bundle / rel) in str(e.value)


def test_class_count_is_checked_against_the_manifest(tmp_path, score_bundle, originals):
    """The three-class triage model stored where the manifest records a binary model."""
    bundle = corrupt_copy(score_bundle, tmp_path / "b", ODI_LGB, originals[TRIAGE_LGB])
    with pytest.raises(
        BundleError,
        match=re.escape(
            f"{bundle / ODI_LGB}: the model predicts 3 classes, but the manifest says "
            "n_classes=2; refusing it"
        ),
    ):
        load_rehashed(bundle)
    with pytest.raises(BundleError, match="predicts 2 classes, but the manifest says n_classes=3"):
        load_estimator("xgboost-ubj", score_bundle / ODI_XGB, 3)


def test_feature_count_is_checked_against_the_model_state(tmp_path, score_bundle):
    """A state whose preprocessor produces one column fewer than the model reads."""
    shutil.copytree(score_bundle, tmp_path / "b")
    bundle = tmp_path / "b"
    state_file = bundle / "mcid_odi_12m/xgboost/state.json"
    state = json.loads(state_file.read_text(encoding="utf-8"))
    n = len(state["preprocessor"]["feature_names_out"])
    state["preprocessor"]["feature_names_out"] = state["preprocessor"]["feature_names_out"][:-1]
    state_file.write_text(json.dumps(state), encoding="utf-8")
    reseal(bundle)
    with pytest.raises(
        BundleError,
        match=re.escape(
            f"{bundle / ODI_XGB}: the model reads {n} input columns, but its preprocessor "
            f"produces {n - 1}; refusing it"
        ),
    ):
        load_rehashed(bundle)
    with pytest.raises(
        BundleError, match=f"reads {n} input columns, but its preprocessor produces 7"
    ):
        load_estimator("xgboost-ubj", score_bundle / ODI_XGB, 2, n_features=7)


def test_a_file_far_larger_than_any_model_is_refused_unread(tmp_path):
    path = tmp_path / "model.txt"
    with path.open("wb") as f:
        f.truncate(MAX_BOOSTER_BYTES + 1)  # sparse: nothing of it is read
    with pytest.raises(
        BundleError, match=r"64\.0 MB, larger than any LightGBM model .* \(limit 64 MB\)"
    ):
        load_estimator("lightgbm-text", path, 2)


def test_what_the_libraries_write_is_accepted(tmp_path):
    """Shapes this package's fits can produce beyond the session bundle's: LightGBM trees
    with a single leaf (no split was worth making: empty split arrays, no leaf weight)
    and a three-class XGBoost model; both pass both gates and load."""
    import lightgbm as lgb
    import xgboost as xgb

    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 4))
    y = rng.integers(0, 2, 120)
    single = lgb.train(
        {"objective": "binary", "min_data_in_leaf": 100, "verbose": -1},
        lgb.Dataset(X, y),
        num_boost_round=3,
    )
    text = single.model_to_string()
    assert "num_leaves=1\n" in text and "\nleaf_weight=\n" in text
    path = tmp_path / "model.txt"
    path.write_text(text)
    est = load_estimator("lightgbm-text", path, 2, n_features=4)
    np.testing.assert_array_equal(est.predict_proba(X)[:, 1], single.predict(X))

    three = xgb.XGBClassifier(n_estimators=4, max_depth=2, objective="multi:softprob")
    three.fit(X, rng.integers(0, 3, 120))
    path = tmp_path / "model.ubj"
    three.get_booster().save_model(str(path))
    est = load_estimator("xgboost-ubj", path, 3, n_features=4)
    np.testing.assert_array_equal(est.predict_proba(X), three.predict_proba(X))


# --- gate 2: the isolated load ----------------------------------------------------------------


def _file(tmp_path: Path, name: str, data: bytes) -> BoosterFile:
    path = tmp_path / name
    path.write_bytes(data)
    return BoosterFile.read(FORMATS[path.suffix], path)


def test_a_native_abort_in_the_child_becomes_a_refusal_that_names_the_file(tmp_path, originals):
    """Gate 1 is skipped here on purpose: the file goes straight to the child, whose
    LightGBM aborts on the short array (the process this test runs in would die)."""
    bad = line_edit(originals[ODI_LGB], "leaf_value", lambda v: v.rsplit(" ", 1)[0])
    f = _file(tmp_path, "model.txt", bad)
    with pytest.raises(
        BundleError,
        match=re.escape(
            f"{f.path}: LightGBM could not read this model (the loader aborted with SIGABRT: "
        ),
    ) as e:
        trial_load([f])
    assert str(e.value).endswith("); refusing it") and len(str(e.value)) < 400


@pytest.mark.parametrize(
    ("rel", "corrupt"),
    [
        (
            ODI_LGB,
            lambda d: line_edit(
                d, "tree_sizes", lambda v: "100000000000" + v[v.index(" ") :], "tree"
            ),
        ),
        (ODI_XGB, lambda d: ubj_int32(d, "left_children", 0, 0x7FFFFFF0)),
    ],
    ids=["lgb-tree-sizes-past-the-end", "xgb-child-outside-tree"],
)
def test_a_native_crash_in_the_child_becomes_a_refusal(tmp_path, originals, rel, corrupt):
    f = _file(tmp_path, Path(rel).name, corrupt(originals[rel]))
    with pytest.raises(
        BundleError, match=r"could not read this model \(the loader crashed with SIG(SEGV|BUS)\)"
    ):
        trial_load([f])


def test_a_clean_library_error_in_the_child_is_reported_with_its_message(tmp_path):
    f = _file(tmp_path, "model.ubj", b"{}")
    with pytest.raises(
        BundleError, match=r"model\.ubj: XGBoost could not read this model \(.+\); refusing it"
    ):
        trial_load([f])


def test_a_child_that_does_not_finish_in_time_is_refused(tmp_path, originals):
    f = _file(tmp_path, "model.txt", originals[ODI_LGB] + b"\n")  # new bytes: not yet tested
    with pytest.raises(
        BundleError,
        match=r"model\.txt: LightGBM could not read this model \(the loader did not finish "
        r"within 0\.001 s\)",
    ):
        trial_load([f], timeout=0.001)


def test_one_child_per_bundle_and_none_for_files_already_tested(
    tmp_path, score_bundle, monkeypatch
):
    """All booster files of a bundle go to one child; loading it again starts none.

    The booster files are given new bytes that load the same way (a changed stored
    training parameter), so that no earlier test in this process has tested them.
    """
    bundle = tmp_path / "b"
    shutil.copytree(score_bundle, bundle)
    for rel in (ODI_LGB, TRIAGE_LGB):
        data = (bundle / rel).read_bytes()
        (bundle / rel).write_bytes(data.replace(b"[verbosity: -1]", b"[verbosity: -2]"))
    ubj = (bundle / ODI_XGB).read_bytes()
    (bundle / ODI_XGB).write_bytes(ubj_text(ubj, "scale_pos_weight", b"2"))
    reseal(bundle)
    runs: list[int] = []
    real_run = subprocess.run

    def counting_run(command, *args, **kwargs):
        if str(command[-1]).endswith("booster_probe.py"):
            runs.append(len(json.loads(kwargs["input"].split(b"\n", 1)[0])["files"]))
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    first = load_rehashed(bundle)
    assert runs == [3]  # three booster files, one child
    again = load_rehashed(bundle)
    assert runs == [3]  # remembered by SHA-256: no second child
    X = np.zeros((2, first.task("triage").model("lightgbm").estimator_.booster.num_feature()))
    np.testing.assert_array_equal(
        first.task("triage").model("lightgbm").estimator_.predict_proba(X),
        again.task("triage").model("lightgbm").estimator_.predict_proba(X),
    )


def test_the_demo_bundle_loads_and_predicts_as_before():
    """The shipped bundle passes both gates; LightGBM reads the checked bytes from memory."""
    import lightgbm as lgb

    bundle = load_bundle(ROOT / "prom/data/demo_bundle")
    model = bundle.task("triage").model("lightgbm").estimator_
    X = np.random.default_rng(1).normal(size=(5, model.booster.num_feature()))
    from_file = lgb.Booster(model_file=str(ROOT / "prom/data/demo_bundle" / TRIAGE_LGB))
    assert np.array_equal(model.booster.predict(X), from_file.predict(X))


# --- the bounded UBJSON reader --------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"S", "1 byte\\(s\\) needed but only 0 left"),
        (
            b"SU\x05ab",
            "string: declares 5 item\\(s\\), more than the 2 byte\\(s\\) left .* at byte 1",
        ),
        (b"D\x00\x01", "8 byte\\(s\\) needed but only 2 left \\(cut off\\?\\) at byte 1"),
        (b"[$d#L" + struct.pack(">q", 2**40), "declares 1099511627776 item\\(s\\)"),
        (b"[$Z#i\x05", "unsupported element type 'Z'"),
        (b"[$i" + b"i\x01", "without a count"),
        (b"{U\x01aZU\x01aZ}", "object key 'a' repeated"),
        (b"[" * 40, "nesting deeper than 32 levels at byte 32"),
        (b"H", "unsupported type marker 'H'"),
        (b"Zx", "1 byte\\(s\\) after the end of the value at byte 1"),
        (b"SU\x02\xff\xfe", "not UTF-8"),
    ],
)
def test_ubjson_reader_refuses_malformed_input_with_the_byte(data, says):
    with pytest.raises(UBJSONError, match=says):
        read_ubjson(data)


def test_ubjson_reader_reads_what_xgboost_writes(originals):
    """The reader gives the values XGBoost's own JSON export holds (checked on the tree
    arrays and the parameters), for the package's XGBoost model."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(bytearray(originals[ODI_XGB]))
    as_json = json.loads(booster.save_raw("json"))
    doc = read_ubjson(originals[ODI_XGB])
    model, ref = (
        doc["learner"]["gradient_booster"]["model"],
        as_json["learner"]["gradient_booster"]["model"],
    )
    assert doc["learner"]["learner_model_param"] == as_json["learner"]["learner_model_param"]
    assert len(model["trees"]) == len(ref["trees"]) > 0
    for tree, want in zip(model["trees"], ref["trees"], strict=True):
        for key in ("left_children", "right_children", "split_indices", "default_left"):
            assert tree[key].tolist() == want[key], key
        for key in ("split_conditions", "base_weights"):
            np.testing.assert_array_equal(tree[key], np.asarray(want[key], dtype=np.float32))


# --- the command line -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cohort_csv(tmp_path_factory, small_fits):
    path = tmp_path_factory.mktemp("booster_cli") / "cohort.csv"
    small_fits["data"].head(40).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("command", ["score", "evaluate", "report"])
def test_cli_refuses_a_corrupt_booster_in_one_line_without_a_traceback(
    tmp_path, score_bundle, originals, cohort_csv, command
):
    rel = TRIAGE_LGB
    bad = line_edit(originals[rel], "leaf_value", lambda v: v.rsplit(" ", 1)[0])
    bundle = corrupt_copy(score_bundle, tmp_path / "b", rel, bad)
    out = tmp_path / ("out.csv" if command != "report" else "r.html")
    args = {
        "score": ["--input", str(cohort_csv), "--out", str(out)],
        "evaluate": ["--data", str(cohort_csv)],
        "report": ["--out", str(out)],
    }[command]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-m", "prom.cli", command, *cli_bundle_args(bundle), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=300,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    n = _leaves(bad)
    expected = (
        f"error: {bundle / rel}: malformed LightGBM model (line {_line_of(bad, 'Tree=3')}): "
        f"Tree=3: leaf_value has {n - 1} values, expected {n} for num_leaves={n}; refusing it"
    )
    assert lines == [expected]
    assert not out.exists()


def _line_of(data: bytes, start: str) -> int:
    """The line number of the first leaf_value line after ``start``."""
    text = data.decode()
    return text[: text.index("\nleaf_value=", text.index(start)) + 1].count("\n") + 1


def _leaves(data: bytes) -> int:
    text = data.decode()
    i = text.index("num_leaves=", text.index("Tree=3\n")) + len("num_leaves=")
    return int(text[i : text.index("\n", i)])
