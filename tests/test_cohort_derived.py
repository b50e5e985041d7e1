"""Index-level imaging columns: read at the patient's index level, derived on the way in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prom.cohort.derived import (
    add_index_level_imaging,
    derive_available,
    derive_missing,
    index_imaging_columns,
)
from prom.errors import MissingColumnError
from prom.naming import DISC_LEVELS
from prom.outcomes import IMAGING_INDEX, TASKS


def _table():
    rows = []
    for i, lev in enumerate(["l4_l5", "l5_s1", None, "l1_l2"]):
        r = {"patient_id": f"p{i}", "index_level": lev}
        for j, L in enumerate(DISC_LEVELS):
            r[f"img_{L}_canal_ap_mm"] = 10.0 * (i + 1) + j  # value encodes (row, level)
        rows.append(r)
    df = pd.DataFrame(rows)
    df.loc[3, "img_l1_l2_canal_ap_mm"] = np.nan  # missing at the index level itself
    return df


def test_the_value_is_read_at_the_index_level_and_never_from_another():
    out = add_index_level_imaging(_table(), ["canal_ap_mm"])
    got = out["img_index_canal_ap_mm"].to_numpy()
    # row 0 at l4_l5 (j=3), row 1 at l5_s1 (j=4); row 2 has no index level; row 3's value
    # at its index level is missing, and nothing is borrowed from l2_l3
    np.testing.assert_array_equal(got[:2], [13.0, 24.0])
    assert np.isnan(got[2]) and np.isnan(got[3])


def test_the_model_layer_derives_absent_columns_and_names_what_it_cannot():
    df = _table()
    assert derive_missing(df, ["age_years"]) is df  # nothing asked for: untouched
    out = derive_missing(df, ["img_index_canal_ap_mm"])
    assert "img_index_canal_ap_mm" in out and "img_index_canal_ap_mm" not in df
    with pytest.raises(
        MissingColumnError, match=r"img_l1_l2_disc_height_mm.*img_l5_s1_disc_height_mm"
    ):
        derive_missing(df, ["img_index_disc_height_mm"])
    with pytest.raises(MissingColumnError, match="index_level"):
        derive_missing(df.drop(columns="index_level"), ["img_index_canal_ap_mm"])


def test_a_supplied_column_is_kept_as_given():
    df = _table().assign(img_index_canal_ap_mm=1.5)
    assert (derive_missing(df, ["img_index_canal_ap_mm"])["img_index_canal_ap_mm"] == 1.5).all()


def test_derive_available_skips_features_without_their_levels():
    out = derive_available(_table(), index_imaging_columns())
    assert [c for c in out if c.startswith("img_index_")] == ["img_index_canal_ap_mm"]


def test_built_in_lumbar_tasks_use_index_level_imaging_and_fit_on_a_per_level_table():
    from prom.cohort.simulate import simulate_cohort
    from prom.instruments import add_scores
    from prom.models import PromClassifier
    from prom.outcomes import derive_label

    assert set(IMAGING_INDEX) <= set(TASKS["mcid_odi_12m"].predictors)
    assert not any(c.startswith("img_l") for c in TASKS["tfesi_response"].predictors)
    df = add_scores(simulate_cohort(1500, seed=3))
    lab = derive_label(df, "mcid_odi_12m")["label"]
    keep = lab.notna()
    model = PromClassifier(
        "logistic", predictors=TASKS["mcid_odi_12m"].predictors, calibration="none"
    ).fit(df[keep], lab[keep].astype(int))
    p1 = model.predict_proba(df[keep])[:, 1]
    p2 = model.predict_proba(add_index_level_imaging(df[keep]))[:, 1]
    np.testing.assert_array_equal(p1, p2)  # derived on the way in == derived beforehand
