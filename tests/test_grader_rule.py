"""The disc grader's feature model and combined rule (radiomics_features.grader.features,
.feature_model, .combined): the same features at inference as in training, the JSON
model against scikit-learn, the thresholds, and cross-validation that keeps the test
fold out of the tuning."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiomics_features.grader.combined import tune_thresholds
from radiomics_features.grader.crops import CROP_MM, CROP_SIZE, STORED_MM, STORED_SIZE, disc_crop
from radiomics_features.grader.feature_model import (
    combine,
    export_logistic,
    grade_from_expected,
    load_feature_model,
)
from radiomics_features.grader.features import FEATURE_NAMES, disc_features, intensity_features
from radiomics_features.grader.localise import Disc
from radiomics_features.grader.metrics import qw_kappa

GRADER_DIR = Path(__file__).resolve().parents[1] / "radiomics_features" / "grader"


# ------------------------------------------------------------------ features
def _phantom(rng) -> np.ndarray:
    img = rng.random((300, 260)).astype(np.float32) * 0.2
    img[120:135, 60:150] = 1.5  # a bright disc
    img[95:118, 60:150] = 0.6  # bodies
    img[137:160, 60:150] = 0.7
    img[80:190, 160:175] = 1.8  # canal behind
    return img


def test_a_model_input_crop_gives_the_stored_training_crops_features():
    """Training measured the 80 x 80 stored crops, inference measures 64 x 64 ones."""
    rng = np.random.default_rng(3)
    img = _phantom(rng)
    disc = Disc(
        label=2,
        row=127.3,
        col=104.6,
        angle_deg=7.0,
        width_mm=36.0,
        height_mm=9.0,
        area_mm2=324.0,
        mean_prob=0.9,
    )
    kw = dict(flip_rows=False, flip_cols=False, normalised=True)
    small = disc_crop(img, (0.6, 0.7), disc, size=CROP_SIZE, crop_mm=CROP_MM, **kw)
    big = disc_crop(img, (0.6, 0.7), disc, size=STORED_SIZE, crop_mm=STORED_MM, **kw)
    m = (STORED_SIZE - CROP_SIZE) // 2
    np.testing.assert_allclose(big[m:-m, m:-m], small, atol=1e-6)
    has = np.array([[True, False]])
    a = intensity_features(np.stack([small, small])[None], has)
    b = intensity_features(np.stack([big, big])[None], has)
    pd.testing.assert_frame_equal(a, b, atol=1e-6)
    assert np.isnan(a.filter(like="t1_").to_numpy()).all()  # absent sequence: NaN
    assert a.loc[0, "t2_core_to_body"] > 1.5  # the bright disc against the bodies


def test_disc_features_order_and_refusals():
    n = 3
    geo = pd.DataFrame(
        {f"{s}_{k}": [1.0, 2.0, 4.0] for s in ("t2", "t1") for k in ("height_mm", "width_mm")}
        | {f"{s}_{k}": [0.0, 1.0, 2.0] for s in ("t2", "t1") for k in ("angle_deg", "area_mm2")}
    )
    crops = np.ones((n, 2, CROP_SIZE, CROP_SIZE), dtype=np.float32)
    X = disc_features(geo, crops, np.ones((n, 2), bool), [1, 2, 3])
    assert list(X.columns) == list(FEATURE_NAMES)
    np.testing.assert_array_equal(X["level"], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(X["t2_height_to_width"], [1.0, 1.0, 1.0])
    with pytest.raises(KeyError, match="t1_area_mm2"):
        disc_features(geo.drop(columns="t1_area_mm2"), crops, np.ones((n, 2), bool), [1, 2, 3])
    with pytest.raises(ValueError, match="same discs"):
        disc_features(geo, crops, np.ones((n, 2), bool), [1, 2])
    with pytest.raises(ValueError, match="at least"):
        intensity_features(np.ones((n, 2, 40, 40)), np.ones((n, 2), bool))


# ------------------------------------------------------------------ the JSON model
def _fitted(rng, n=400, p=5):
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = rng.normal(size=(n, p)) * [1, 10, 0.1, 3, 1]
    y = np.clip(np.rint(3 + X[:, 0] + 0.1 * X[:, 1] + rng.normal(size=n)), 1, 5).astype(int)
    X[rng.random((n, p)) < 0.1] = np.nan
    X[:, 4] = rng.normal(size=n)  # never missing: no indicator column
    m = make_pipeline(
        SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(max_iter=5000, C=0.5),
    ).fit(X, y)
    return m, X


def _write(doc: dict, folder: Path) -> tuple[Path, str]:
    blob = (json.dumps(doc) + "\n").encode("utf-8")
    path = folder / "feature_model.json"
    path.write_bytes(blob)
    return path, hashlib.sha256(blob).hexdigest()


def test_json_feature_model_reproduces_scikit_learn(tmp_path):
    rng = np.random.default_rng(0)
    m, X = _fitted(rng)
    names = [f"f{i}" for i in range(X.shape[1])]
    doc = export_logistic(m, names, cnn_weight=0.5, thresholds=[1.6, 2.4, 3.5, 4.4], extra={})
    assert doc["indicator_features"] == [0, 1, 2, 3]
    path, digest = _write(doc, tmp_path)
    fm = load_feature_model(path, digest)
    Xt = rng.normal(size=(50, 5))
    Xt[rng.random((50, 5)) < 0.2] = np.nan
    np.testing.assert_allclose(fm.predict_proba(Xt), m.predict_proba(Xt), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"expected \(n, 5\) features"):
        fm.predict_proba(Xt[:, :4])


def test_a_modified_feature_model_is_refused(tmp_path):
    from radiomics_features.grader.inference import GraderIntegrityError

    rng = np.random.default_rng(1)
    m, _ = _fitted(rng)
    doc = export_logistic(
        m, list("abcde"), cnn_weight=0.5, thresholds=[1.5, 2.5, 3.5, 4.5], extra={}
    )
    path, digest = _write(doc, tmp_path)
    doc["coef"][0][0] += 1.0
    _write(doc, tmp_path)
    with pytest.raises(GraderIntegrityError, match="refusing to load"):
        load_feature_model(path, digest)


def test_the_bundled_grader_loads_its_verified_feature_model(tmp_path):
    pytest.importorskip("onnxruntime")
    from radiomics_features.grader.inference import GraderIntegrityError, load_grader

    meta = json.loads((GRADER_DIR / "grader.json").read_text(encoding="utf-8"))
    g = load_grader()
    assert g.features is not None and meta["feature_model_file"] == "feature_model.json"
    assert g.features.features == FEATURE_NAMES
    assert "tuned thresholds" in g.rule
    for f in ("grader.onnx", "grader.json", "feature_model.json"):
        shutil.copy(GRADER_DIR / f, tmp_path / f)
    doc = json.loads((tmp_path / "feature_model.json").read_text(encoding="utf-8"))
    doc["rule"]["thresholds"][0] = 1.0
    (tmp_path / "feature_model.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(GraderIntegrityError, match="feature model was modified"):
        load_grader(tmp_path / "grader.onnx")


# ------------------------------------------------------------------ the rule
def test_grade_from_expected_cuts_at_the_thresholds():
    th = [1.7, 2.4, 3.6, 4.2]
    e = np.array([1.0, 1.69, 1.7, 2.5, 3.6, 4.19, 4.2, 5.0])
    np.testing.assert_array_equal(grade_from_expected(e, th), [1, 1, 2, 3, 4, 4, 5, 5])
    with pytest.raises(ValueError, match="4 increasing"):
        grade_from_expected(e, [2.0, 1.0, 3.0, 4.0])
    p, g = combine(np.eye(5)[[0, 4]], np.eye(5)[[2, 2]], 0.5, [1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(p[0], [0.5, 0, 0.5, 0, 0])
    np.testing.assert_array_equal(g, [2, 4])  # expected grades 2.0 and 4.0


def test_tuned_thresholds_undo_a_shrunken_scale():
    """Expected grades squeezed towards 3 (as averaged probabilities are): the midpoints
    call almost everything 3, the tuned cuts recover the ordering."""
    rng = np.random.default_rng(0)
    y = rng.integers(1, 6, 600)
    e = 3 + 0.35 * (y - 3) + rng.normal(scale=0.15, size=y.size)
    mid = qw_kappa(y, grade_from_expected(e, [1.5, 2.5, 3.5, 4.5]))
    th = tune_thresholds(e, y)
    assert np.all(np.diff(th) >= 0)
    assert qw_kappa(y, grade_from_expected(e, th)) > mid + 0.2
    np.testing.assert_array_equal(th, tune_thresholds(e, y))  # deterministic


def test_rule_cv_never_tunes_on_the_test_fold():
    """Thresholds of fold f depend on the training folds' pair predictions only: changing
    the test fold's labels and outer predictions leaves them unchanged."""
    from radiomics_features.grader.combined import evaluate_rules

    rng = np.random.default_rng(5)
    n, k = 250, 5
    y = rng.integers(1, 6, n)
    folds = np.arange(n) % k

    def noisy():
        logits = -((np.arange(1, 6)[None, :] - y[:, None]) ** 2) / 2.0 + rng.normal(size=(n, 5))
        p = np.exp(logits)
        return p / p.sum(1, keepdims=True)

    cnn_oof, feat_oof = noisy(), noisy()
    cnn_pairs = np.stack([np.where((folds == f)[:, None], np.nan, noisy()) for f in range(k)])
    feat_pairs = np.stack([np.where((folds == f)[:, None], np.nan, noisy()) for f in range(k)])
    a = evaluate_rules(y, folds, cnn_oof, cnn_pairs, feat_oof, feat_pairs, weights=(0.5,))
    y2, cnn2 = y.copy(), cnn_oof.copy()
    y2[folds == 0] = 6 - y2[folds == 0]
    cnn2[folds == 0] = cnn2[folds == 0][:, ::-1]
    b = evaluate_rules(y2, folds, cnn2, cnn_pairs, feat_oof, feat_pairs, weights=(0.5,))
    assert a[0.5]["thresholds"][0] == b[0.5]["thresholds"][0]
    assert a[0.5]["thresholds"][1:] != b[0.5]["thresholds"][1:]  # other folds train on fold 0
    with pytest.raises(ValueError, match="incomplete"):
        bad = cnn_pairs.copy()
        bad[1, folds == 2] = np.nan
        evaluate_rules(y, folds, cnn_oof, bad, feat_oof, feat_pairs)
