"""Shared test settings: hypothesis profile for a 2-core CI machine; a lab's signing set-up."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


import os  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def lab_keys(tmp_path_factory):
    """The signing set-up of a lab, for the whole run: a key pair, a trust store holding its
    public key, and ``PROM_SIGNING_KEY`` / ``PROM_TRUST_STORE`` pointing at them (the
    commands, and the subprocesses tests start, see them) — so bundles written by ``prom fit``
    are signed and load as trusted, and no test reads the user's own trust store. Tests
    that call ``write_bundle`` sign with ``lab_keys.key``."""
    from prom.bundle import SigningKey, TrustStore, write_key_pair

    root = tmp_path_factory.mktemp("lab_keys")
    key = SigningKey.generate("test-lab")
    private, public = write_key_pair(key, root / "keys")
    store = TrustStore(root / "trusted-keys")
    store.add(key.public)
    env = {"PROM_SIGNING_KEY": str(private), "PROM_TRUST_STORE": str(store.path)}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield SimpleNamespace(key=key, private=private, public=public, store=store.path)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def small_fits():
    """Two tasks fitted with every family at small, fast settings (shared by several tests).

    Not a test of model quality: n is small and the tuning budget tiny on purpose.
    """
    import warnings

    from prom.cohort import simulate_cohort
    from prom.errors import StatisticalWarning
    from prom.instruments import add_scores
    from prom.workflows import FAMILIES, FitSettings, fit_task

    df = add_scores(simulate_cohort(1600, seed=21))
    fits = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        fits.append(
            fit_task(
                df,
                "mcid_odi_12m",
                families=FAMILIES,
                settings=FitSettings(
                    n_splits=3,
                    n_iter=2,
                    n_boot=30,
                    optimism_boot=0,
                    site_column=None,
                    random_state=1,
                ),
            )
        )
        fits.append(
            fit_task(
                df,
                "triage",
                families=("logistic", "lightgbm"),
                settings=FitSettings(
                    n_splits=3,
                    n_iter=2,
                    n_boot=30,
                    optimism_boot=0,
                    site_column=None,
                    random_state=1,
                ),
            )
        )
    return {"data": df, "fits": fits}


@pytest.fixture(scope="session")
def score_bundle(tmp_path_factory, small_fits, lab_keys):
    """The bulk-scoring tests' bundle: ODI MCID with XGBoost as primary, triage with
    LightGBM (read-only: tests that tamper with a bundle make their own)."""
    import dataclasses

    from prom.bundle import write_bundle

    primary = {"mcid_odi_12m": "xgboost", "triage": "lightgbm"}
    fits = [dataclasses.replace(f, primary=primary[f.task_name]) for f in small_fits["fits"]]
    return write_bundle(
        tmp_path_factory.mktemp("score_bundle") / "bundle", fits, signing_key=lab_keys.key
    )
