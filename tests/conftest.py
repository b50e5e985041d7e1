"""Shared test settings: hypothesis profile for a 2-core CI machine."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("ci")


import pytest  # noqa: E402


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
def score_bundle(tmp_path_factory, small_fits):
    """The bulk-scoring tests' bundle: ODI MCID with XGBoost as primary, triage with
    LightGBM (read-only: tests that tamper with a bundle make their own)."""
    import dataclasses

    from prom.bundle import write_bundle

    primary = {"mcid_odi_12m": "xgboost", "triage": "lightgbm"}
    fits = [dataclasses.replace(f, primary=primary[f.task_name]) for f in small_fits["fits"]]
    return write_bundle(tmp_path_factory.mktemp("score_bundle") / "bundle", fits)
