"""A research group's own bundle behind the calculator and ``prom serve``: tasks the
calculator cannot serve are named, never silently empty.

A user's own outcome (``--target``) and a built-in task fitted with predictors the
calculator has no field for are not served (the second would put the training median in
place of a predictor on every call); the service refuses a bundle with nothing to serve,
lists what it does not serve beside what it does, and a prediction says which entries no
model read.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from prom.bundle import BundleError, load_bundle, write_bundle
from prom.calculator import DEMO_BUNDLE_PATH, Calculator
from prom.errors import StatisticalWarning

TINY = dict(n_splits=2, n_iter=1, n_boot=10, optimism_boot=0, n_jobs=1, site_column=None)


@pytest.fixture(scope="module")
def own_bundles(tmp_path_factory, lab_keys):
    from prom.cohort import simulate_cohort
    from prom.instruments import add_scores
    from prom.workflows import FitSettings, fit_task

    d = tmp_path_factory.mktemp("own_bundles")
    df = add_scores(simulate_cohort(500, seed=5))
    rng = np.random.default_rng(0)
    df["readmit_90d"] = (rng.random(len(df)) < 0.3).astype(int)
    settings = FitSettings(**TINY, allow_small_sample=True)
    fams = ["logistic", "elastic_net"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        own = fit_task(
            df,
            target="readmit_90d",
            predictors=["age_years", "bmi_kg_m2"],
            families=fams,
            settings=settings,
        )
        odd = fit_task(
            df,
            "mcid_odi_12m",
            predictors=["age_years", "odi_0m", "img_l4_l5_pfirrmann"],
            families=fams,
            settings=settings,
        )
    paths = {}
    for name, fit in (("own", own), ("odd", odd)):
        paths[name] = write_bundle(d / name, [fit], signing_key=lab_keys.key)
    return paths


def test_the_calculator_names_the_tasks_it_does_not_serve(own_bundles):
    own = Calculator(load_bundle(own_bundles["own"]))
    assert own.tasks == [] and own.skipped["readmit_90d"].startswith("not a built-in task")
    odd = Calculator(load_bundle(own_bundles["odd"]))
    assert odd.tasks == []
    assert odd.skipped["mcid_odi_12m"] == (
        "its models read img_l4_l5_pfirrmann, which the calculator has no field for: every "
        "prediction would put the training median in their place"
    )


def test_the_service_refuses_a_bundle_with_nothing_to_serve_and_lists_the_rest(own_bundles):
    from prom.service import load_service

    with pytest.raises(BundleError, match=r"has no task the service can serve \(readmit_90d: "):
        load_service([own_bundles["own"]])
    service = load_service([DEMO_BUNDLE_PATH])
    listed = service.bundles()[0]
    assert listed["tasks"] and listed["not_served"] == {}


def test_a_prediction_names_the_entries_no_model_read():
    calc = Calculator(load_bundle(DEMO_BUNDLE_PATH))
    res = calc.predict(
        {"region": "cervical", "age_years": 60, "sex": "male", "mjoa_0m": 12, "odi_0m": 90}
    )
    assert "entered but read by no model for a cervical patient: ODI total (points)" in res.notes
    lumbar = calc.predict({"region": "lumbar", "age_years": 60, "sex": "male", "odi_0m": 40})
    assert not any(n.startswith("entered but read by no model") for n in lumbar.notes)


def test_prom_serve_stops_on_a_bundle_with_nothing_to_serve(own_bundles, tmp_path):
    import socket

    from typer.testing import CliRunner

    from prom.cli import app

    with socket.socket() as sock:  # a free loopback port: the command checks it first
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp_path / "token").write_text("test-token-0123456789abcdef", encoding="utf-8")
    res = CliRunner().invoke(
        app,
        [
            "serve",
            *("--bundle", str(own_bundles["odd"])),
            *("--token-file", str(tmp_path / "token"), "--port", str(port)),
        ],
    )
    said = " ".join(res.output.split())
    assert res.exit_code == 2, said
    assert "has no task the service can serve (mcid_odi_12m: its models read" in said
    assert "prom score scores any bundle's tasks in bulk" in said


def test_a_recalibrated_bundles_card_says_which_models_its_validation_is_of():
    import dataclasses

    from prom.service.card import model_card

    calc = Calculator(load_bundle(DEMO_BUNDLE_PATH))
    card = {t["task"]: t for t in model_card(calc)["tasks"]}
    assert card["mcid_odi_12m"]["recalibration"] is None
    assert card["mcid_odi_12m"]["validation_of"].startswith("the models as developed")
    bt = calc.bundle.tasks["mcid_odi_12m"]
    note = "intercept on site.csv; primary lightgbm on 400 rows (…)"
    calc.bundle.tasks["mcid_odi_12m"] = dataclasses.replace(
        bt, entry=dataclasses.replace(bt.entry, recalibration=note)
    )
    card = {t["task"]: t for t in model_card(calc)["tasks"]}
    assert card["mcid_odi_12m"]["recalibration"] == note
    assert card["mcid_odi_12m"]["validation_of"].startswith("the models before their recalibration")
