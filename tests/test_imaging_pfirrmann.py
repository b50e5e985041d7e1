"""Pfirrmann grade classifier: patient-grouped folds, the agreement metrics, the pipeline.

The quadratic-weighted kappa reference values are computed by hand from Cohen's (1968)
definition, kappa_w = 1 - sum(w * O) / sum(w * E), with O the observed and E the
chance-expected (outer product of the marginals / n) contingency tables and
w_ij = (i - j)^2 the squared distance in grades. The real-data tests skip when the
SPIDER subset is absent (it lives outside the repository).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radiomics_features.geometry import DISC_FEATURES
from radiomics_features.pfirrmann import (
    GRADES,
    cross_validate_grades,
    format_report,
    grade_metrics,
    grouped_splits,
    model_features,
    read_gradings,
)

SPIDER = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"
needs_gradings = pytest.mark.skipif(
    not (SPIDER / "gradings.csv").exists(),
    reason=f"SPIDER subset not found at {SPIDER} (the repository root's sibling shared/)",
)


# ------------------------------------------------------------------------- splits
def _assert_patient_disjoint(y, groups, n_splits, seeds):
    seen = {r: np.zeros(len(y), dtype=int) for r in range(len(seeds))}
    for r, _f, tr, te in grouped_splits(y, groups, n_splits=n_splits, seeds=seeds):
        assert not set(groups[tr]) & set(groups[te])
        assert len(tr) + len(te) == len(y)
        seen[r][te] += 1
    for r in seen:  # every disc is tested exactly once per repeat
        assert (seen[r] == 1).all()


@needs_gradings
def test_real_folds_never_put_a_patient_in_train_and_test():
    gr = read_gradings(SPIDER)
    y, groups = gr["pfirrmann"].to_numpy(), gr["patient"].to_numpy()
    assert gr.groupby("patient").size().eq(5).all()  # five lumbar discs per patient
    _assert_patient_disjoint(y, groups, n_splits=5, seeds=(0, 1, 2))
    test_sets = [
        frozenset(groups[te])
        for r, f, _, te in grouped_splits(y, groups, n_splits=5, seeds=(0, 1))
        if f == 0
    ]
    assert test_sets[0] != test_sets[1]  # the seeds do reshuffle patients


def test_splitter_groups_of_unequal_size_and_too_few_patients():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(12), rng.integers(1, 8, size=12))
    y = rng.integers(1, 4, size=len(groups))
    _assert_patient_disjoint(y, groups, n_splits=4, seeds=(5, 6))
    with pytest.raises(ValueError, match=r"3 patient.*cannot fill 5 folds"):
        list(grouped_splits(np.ones(6), np.repeat([1, 2, 3], 2), n_splits=5))
    with pytest.raises(ValueError, match="y has 3 rows but groups has 2"):
        list(grouped_splits(np.ones(3), np.array([1, 2])))


# ------------------------------------------------------------------------ metrics
def _qw_kappa_by_definition(t, p, grades):
    k = len(grades)
    idx = {g: i for i, g in enumerate(grades)}
    observed = np.zeros((k, k))
    for a, b in zip(t, p, strict=True):
        observed[idx[a], idx[b]] += 1
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / len(t)
    w = (np.arange(k)[:, None] - np.arange(k)[None, :]) ** 2
    return 1.0 - (w * observed).sum() / (w * expected).sum()


def test_metrics_on_a_hand_counted_example():
    """y = [1, 1, 2, 3], prediction [1, 2, 2, 1]. Observed disagreements weighted by the
    squared distance: (1→2) 1 + (3→1) 4 = 5. Marginals: reference (2, 1, 1), predicted
    (2, 2, 0); expected counts row·col/4 weighted: (1,2) 1·1 + (2,1) 0.5·1 + (3,1) 0.5·4
    + (3,2) 0.5·1 = 4. kappa = 1 - 5/4 = -0.25; accuracy 2/4; within one grade 3/4."""
    from sklearn.metrics import cohen_kappa_score

    t, p = [1, 1, 2, 3], [1, 2, 2, 1]
    m = grade_metrics(t, p)
    assert m.qw_kappa == pytest.approx(-0.25, rel=1e-12)
    assert m.qw_kappa == pytest.approx(cohen_kappa_score(t, p, weights="quadratic"), rel=1e-12)
    assert (m.n, m.accuracy, m.within_one) == (4, 0.5, 0.75)


def test_kappa_weights_use_grade_distance_when_a_grade_is_absent():
    """Grades 1, 2 and 4 only: the 2↔4 disagreement is two grades apart. Without the
    fixed 1-5 scale, sklearn would treat 4 as the next category after 2."""
    from sklearn.metrics import cohen_kappa_score

    t = [1, 2, 4, 4, 2, 1, 4]
    p = [2, 4, 4, 1, 2, 1, 2]
    expected = _qw_kappa_by_definition(t, p, GRADES)
    assert grade_metrics(t, p).qw_kappa == pytest.approx(expected, rel=1e-12)
    assert abs(cohen_kappa_score(t, p, weights="quadratic") - expected) > 0.01
    rng = np.random.default_rng(0)
    for _ in range(20):
        t, p = rng.integers(1, 6, size=40), rng.integers(1, 6, size=40)
        assert grade_metrics(t, p).qw_kappa == pytest.approx(
            _qw_kappa_by_definition(t, p, GRADES), rel=1e-10
        )


def test_metric_edge_cases_and_errors():
    perfect = grade_metrics([1, 3, 5], [1, 3, 5])
    assert (perfect.accuracy, perfect.qw_kappa, perfect.within_one) == (1.0, 1.0, 1.0)
    assert np.isnan(grade_metrics([3, 3], [3, 3]).qw_kappa)  # one grade: undefined
    assert grade_metrics([1, 2, 5], [3, 3, 3]).qw_kappa == 0.0  # constant prediction
    with pytest.raises(ValueError, match=r"grade\(s\) \[6\] are not on the scale"):
        grade_metrics([1, 6], [1, 2])
    with pytest.raises(ValueError, match="equal, non-zero length"):
        grade_metrics([1, 2], [1])


# ------------------------------------------------------------------ data handling
def test_read_gradings_rejects_bad_files(tmp_path):
    (tmp_path / "gradings.csv").write_text("Patient,IVD label,Pfirrman grade\n1,1,2\n1,2,7\n")
    with pytest.raises(ValueError, match=r"1 Pfirrmann grade\(s\) outside 1–5.*values \[7\]"):
        read_gradings(tmp_path)
    (tmp_path / "gradings.csv").write_text("Patient,IVD label\n1,1\n")
    with pytest.raises(ValueError, match=r"lacks column.*Pfirrman grade"):
        read_gradings(tmp_path)
    with pytest.raises(FileNotFoundError, match="pass --data"):
        read_gradings(tmp_path / "nowhere")


def _synthetic(n_patients=30, seed=0):
    """Discs whose grade is carried by disc height (plus noise); other features noise."""
    rng = np.random.default_rng(seed)
    n = n_patients * 5
    grade = rng.integers(1, 6, size=n)
    df = pd.DataFrame({f: rng.normal(size=n) for f in DISC_FEATURES})
    df["disc_height_mm"] = 12.0 - 2.0 * grade + rng.normal(scale=0.3, size=n)
    df["disc_volume_mm3"] = np.nan
    df["level_position"] = np.tile(np.arange(5), n_patients)
    df["patient"] = np.repeat(np.arange(n_patients), 5)
    df["pfirrmann"] = grade
    return df


def test_cross_validation_learns_a_carried_signal_and_leaves_out_empty_columns():
    df = _synthetic()
    original = df.copy()
    feats = model_features(df)
    assert "disc_volume_mm3" not in feats and "disc_height_mm" in feats
    res = cross_validate_grades(df, n_splits=3, seeds=(0, 1))
    pd.testing.assert_frame_equal(df, original)  # input not mutated
    summ = res.summary.set_index(["model", "metric"])["mean"]
    assert summ["logistic", "qw_kappa"] > 0.9
    assert summ["boosting", "qw_kappa"] > 0.8
    assert summ["majority", "qw_kappa"] == 0.0
    assert res.settings["left_out_all_missing"] == ["disc_volume_mm3"]
    for cm in res.confusion.values():
        assert cm.to_numpy().sum() == pytest.approx(len(df))


# ----------------------------------------------------------------- real data, e2e
@needs_gradings
def test_geometry_pipeline_end_to_end_on_spider():
    pytest.importorskip("SimpleITK", reason="SimpleITK (imaging extra) is not installed")
    from radiomics_features.pfirrmann import disc_dataset

    gr = read_gradings(SPIDER)
    # a small subset that keeps every grade: the patients with a grade-1 disc (the
    # rarest grade), then the lowest remaining ids up to ten patients
    rare = sorted(gr.loc[gr["pfirrmann"] == 1, "patient"].unique())
    rest = [p for p in sorted(gr["patient"].unique()) if p not in rare]
    ids = (rare + rest)[:10]
    df = disc_dataset(SPIDER, masks="truth", ids=ids, workers=2, strict=True)
    assert sorted(df["patient"].unique()) == sorted(ids) and len(df) == 5 * len(ids)
    assert set(df["pfirrmann"]) == set(GRADES)
    res = cross_validate_grades(df, n_splits=3, seeds=(0, 1))
    per = res.per_repeat
    assert set(per["model"]) == {"logistic", "boosting", "majority"}
    assert per["accuracy"].between(0, 1).all() and per["within_one"].between(0, 1).all()
    assert per["qw_kappa"].between(-1, 1).all()
    assert (per["within_one"] >= per["accuracy"]).all()
    assert res.grade_counts["n_discs"].sum() == len(df)
    assert set(res.spearman["feature"]) >= {"disc_csf_signal_ratio", "disc_height_index"}
    text = format_report(res)
    assert "logistic" in text and "boosting" in text and "grade 1:" in text
