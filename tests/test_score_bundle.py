"""Bulk scoring and the bundle: a tampered or foreign bundle is refused before any row is
read, and the bundle carries the training summaries the drift section compares against."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from prom.bundle import MANIFEST, SIGNATURE, BundleError, write_bundle
from prom.cohort import simulate_cohort
from prom.models.preprocess import DRIFT_QUANTILES
from prom.score import score_file
from prom.score.drift import Calibration, FeatureDrift, psi

pytestmark = pytest.mark.filterwarnings("ignore::prom.errors.StatisticalWarning")


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory, small_fits, lab_keys):
    fits = [dataclasses.replace(f, primary="lightgbm") for f in small_fits["fits"]]
    return write_bundle(
        tmp_path_factory.mktemp("score_bundle") / "bundle", fits, signing_key=lab_keys.key
    )


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = tmp_path_factory.mktemp("score_bundle_in") / "in.parquet"
    simulate_cohort(50, seed=3).to_parquet(path)
    return path


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _tampered_model(b: Path) -> str:
    _flip(b / "mcid_odi_12m" / "lightgbm" / "model.txt")
    return "SHA-256 does not match the manifest"


def _edited_manifest(b: Path) -> str:
    m = json.loads((b / MANIFEST).read_text(encoding="utf-8"))
    m["tasks"]["mcid_odi_12m"]["primary"] = "logistic"
    (b / MANIFEST).write_text(json.dumps(m))
    return "does not verify against manifest.json"  # its signature


def _slipped_in_file(b: Path) -> str:
    (b / "triage" / "model.pkl").write_bytes(b"\x80\x04N.")
    return r"not listed in the manifest: triage/model.pkl"


def _foreign(b: Path) -> str:
    (b / MANIFEST).write_text(json.dumps({"format": "mlflow-model", "files": {}}))
    (b / SIGNATURE).unlink()
    return "expected 'prom-model-bundle'; not a prom model bundle"


@pytest.mark.parametrize("spoil", [_tampered_model, _edited_manifest, _slipped_in_file, _foreign])
def test_a_tampered_or_foreign_bundle_is_refused_before_any_row_is_read(
    bundle_path, table, tmp_path, monkeypatch, spoil
):
    b = _copy(bundle_path, tmp_path / "b")
    message = spoil(b)

    def no_reading(*args, **kwargs):
        raise AssertionError("the input was opened before the bundle was verified")

    monkeypatch.setattr("prom.score.run.open_source", no_reading)
    with pytest.raises(BundleError, match=message):
        score_file(b, table, tmp_path / "out.parquet")
    assert not (tmp_path / "out.parquet").exists()
    assert not (tmp_path / ".out.parquet.part").exists()


def test_the_cli_refuses_a_tampered_bundle_with_exit_code_2(bundle_path, table, tmp_path):
    from prom.cli import app

    b = _copy(bundle_path, tmp_path / "b")
    _tampered_model(b)
    res = CliRunner().invoke(
        app, ["score", "-b", str(b), "-i", str(table), "-o", str(tmp_path / "o.parquet")]
    )
    assert res.exit_code == 2
    assert "SHA-256 does not match the manifest" in res.output
    assert not (tmp_path / "o.parquet").exists()


def test_the_bundle_stores_training_distributions_of_the_predictors(bundle_path, small_fits):
    """Decile bins, their frequencies, mean and SD of each numeric predictor, recomputed here
    from the very training rows (prepare_task_data) the model was fitted on."""
    from prom.workflows import prepare_task_data

    schema = json.loads((bundle_path / MANIFEST).read_text(encoding="utf-8"))["feature_schema"]
    _, X, *_ = prepare_task_data(small_fits["data"], "mcid_odi_12m")
    for col in ("age_years", "bmi_kg_m2", "odi_0m"):
        info = schema[col]
        v = X[col].to_numpy(dtype=float)
        obs = v[~np.isnan(v)]
        edges = np.unique(np.quantile(obs, DRIFT_QUANTILES))
        np.testing.assert_array_equal(info["bin_edges"], edges)
        counts = np.bincount(np.searchsorted(edges, obs, side="left"), minlength=edges.size + 1)
        np.testing.assert_allclose(info["bin_frequencies"], counts / len(v), rtol=1e-12)
        assert sum(info["bin_frequencies"]) + info["missing_fraction"] == pytest.approx(
            1, abs=1e-12
        )
        assert info["mean"] == pytest.approx(obs.mean(), rel=1e-12)
        assert info["sd"] == pytest.approx(obs.std(ddof=1), rel=1e-12)
    assert set(schema["sex"]["frequencies"]) == {"female", "male"}


def test_psi_of_a_hand_worked_example():
    """(0.5 − 0.25)·ln(0.5/0.25) + (0.5 − 0.75)·ln(0.5/0.75) = 0.25·ln 2 + 0.25·ln 1.5."""
    assert psi([0.5, 0.5], [0.25, 0.75]) == pytest.approx(
        0.25 * np.log(2) + 0.25 * np.log(1.5), rel=1e-12
    )
    assert psi([0.3, 0.7], [0.3, 0.7]) == 0.0
    # an empty bin counts as the floor fraction 1e-4
    assert psi([1.0, 0.0], [0.5, 0.5]) == pytest.approx(
        0.5 * np.log(1.0 / 0.5) + (1e-4 - 0.5) * np.log(1e-4 / 0.5), rel=1e-12
    )


def test_feature_drift_counts_by_hand_and_merges_like_one_batch():
    info = {
        "kind": "numeric",
        "min": 0.0,
        "max": 3.0,
        "bin_edges": [1.0, 2.0],
        "bin_frequencies": [0.25, 0.25, 0.25],
        "missing_fraction": 0.25,
        "mean": 2.0,
        "sd": 1.0,
    }
    one = FeatureDrift("x", info)
    one.add(np.array([0.5, 1.5, 2.5, np.nan]))  # one value per bin, one missing
    rep = one.report()
    assert rep["psi"] == 0.0 and rep["mean"] == 1.5 and rep["sd"] == 1.0
    assert rep["std_diff"] == pytest.approx((1.5 - 2.0) / 1.0, rel=1e-12)
    a, b = FeatureDrift("x", info), FeatureDrift("x", info)
    a.add(np.array([0.5, 1.5]))
    b.add(np.array([2.5, np.nan]))
    a.merge(b)
    assert a.report() == rep
    cat = FeatureDrift(
        "s",
        {
            "kind": "categorical",
            "categories": ["f", "m"],
            "frequencies": {"f": 0.5, "m": 0.5},
            "missing_fraction": 0.0,
        },
    )
    cat.add(np.array([0, 1, -1, -2]))  # f, m, unseen, missing
    r = cat.report()
    assert (r["unseen_fraction"], r["missing_fraction"]) == (0.25, 0.25)
    assert r["psi"] == pytest.approx(psi([0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0.0, 0.0]))


def test_observed_versus_expected_by_hand():
    c = Calibration("t", [0, 1])
    c.add(np.array([0.2, 0.2, 0.8, 0.8]), np.array([0.0, 1.0, 1.0, 1.0]))
    r = c.report()
    assert (r["observed"], r["expected"], r["o_e_ratio"]) == (0.75, 0.5, 1.5)
    assert r["by_risk_group"] == [
        {"risk": "0.2-0.3", "n": 2, "expected": 0.2, "observed": 0.5},
        {"risk": "0.8-0.9", "n": 2, "expected": 0.8, "observed": 1.0},
    ]
