"""The cohort simulator's arrays as the cohort table: columns named, typed and ordered.

Part of the cohort simulator (:mod:`prom.cohort.simulate`): the drawn patients, items,
imaging features and outcomes become the columns of
:data:`prom.cohort.contract.COHORT_CONTRACT`, in contract order with contract dtypes;
follow-up answers of patients lost to follow-up (section 11 of the data-generating
process) are blanked here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prom.cohort.contract import IMAGING_FEATURES
from prom.instruments import INSTRUMENTS
from prom.naming import DISC_LEVELS, TIMEPOINTS, imaging_column, item_column

__all__ = ["base_columns", "item_columns", "imaging_columns", "assemble"]

# Item order of the simulator's arrays is the instruments' declared order.
_ODI_ITEMS = INSTRUMENTS["odi"].item_names
_COMI_ITEMS = INSTRUMENTS["comi"].item_names[2:]  # after back_pain, leg_pain (the NRS columns)
_MJOA_ITEMS = INSTRUMENTS["mjoa"].item_names


def base_columns(cols, P, site, sites, treatment, lum, miss, seed: int) -> None:
    """Id, site, demographics, history and treatment columns (category columns as codes).

    Ids carry the seed (``S7-P0000001``): two cohorts drawn with different seeds are
    different patients, and their ids must not say otherwise (``prom evaluate`` matches
    a bundle's development rows by id)."""
    n = len(P.age)
    width = max(7, len(str(n)))
    cols["patient_id"] = np.array(
        [f"S{seed}-P{i:0{width}d}" for i in range(1, n + 1)], dtype=object
    )
    cols["site"] = np.array(sites.names, dtype=object)[site]
    cols["region"] = P.cervical.astype(np.int64)
    cols["diagnosis"] = P.dx
    cols["age_years"] = P.age
    cols["sex"] = P.male.astype(np.int64)
    cols["bmi_kg_m2"] = np.where(miss["bmi"], np.nan, P.bmi)
    cols["smoking"] = np.where(miss["smoking"], -1, P.smoking)
    cols["diabetes"] = P.diabetes.astype(float)
    cols["depression_anxiety"] = P.dep.astype(float)
    cols["symptom_duration_months"] = np.where(miss["duration"], np.nan, P.duration)
    cols["prior_spine_surgery"] = P.prior.astype(float)
    cols["opioid_use"] = P.opioid.astype(float)
    cols["asa_grade"] = np.where(miss["asa"], np.nan, P.asa.astype(float))
    cols["employment"] = P.employment
    cols["index_level"] = P.level
    cols["treatment"] = treatment


def item_columns(cols, n, L, C, fu_l, fu_c, ans_l, ans_c, lum, cer, miss) -> None:
    """PROM item columns at every time point; unanswered items and the answers of patients
    lost before a time point are missing."""
    stage = miss["stage"]
    for t, tp in enumerate(TIMEPOINTS):
        gone = stage < t  # lost before this time point (never at baseline)
        a = ans_l[tp]
        if tp == "0m":
            odi, back, leg, comi = L.odi0, L.back0, L.leg0, L.comi0
        else:
            odi, comi = fu_l["items"][("odi", tp)], fu_l["items"][("comi", tp)]
            back, leg = fu_l["items"][("nrs_back", tp)], fu_l["items"][("nrs_leg", tp)]
        blocks = [("odi", _ODI_ITEMS, odi, a["odi"]), ("comi", _COMI_ITEMS, comi, a["comi"])]
        for inst, names, vals, ok in blocks:
            for j, item in enumerate(names):
                col = np.full(n, np.nan)
                col[lum] = np.where(ok[:, j], vals[:, j], np.nan)
                col[gone] = np.nan
                cols[item_column(inst, item, tp)] = col
        for name, vals in (("back", back), ("leg", leg)):
            col = np.full(n, np.nan)
            col[lum] = np.where(a[name], vals, np.nan)
            col[gone] = np.nan
            cols[f"nrs_{name}_{tp}"] = col
        mj = C.mjoa0 if tp == "0m" else fu_c["items"][tp]
        for j, item in enumerate(_MJOA_ITEMS):
            col = np.full(n, np.nan)
            col[cer] = np.where(ans_c[tp][:, j], mj[:, j], np.nan)
            col[gone] = np.nan
            cols[item_column("mjoa", item, tp)] = col


def imaging_columns(cols, n, img, lum) -> None:
    """One column per disc level and MRI feature (NaN for cervical patients)."""
    for level_i, level in enumerate(DISC_LEVELS):
        for feature, *_ in IMAGING_FEATURES:
            col = np.full(n, np.nan)
            col[lum] = img.features[feature][:, level_i]
            cols[imaging_column(level, feature)] = col


def assemble(cols: dict[str, np.ndarray], n: int) -> pd.DataFrame:
    """The cohort table in contract order with contract dtypes (no score columns)."""
    from prom.cohort.contract import COHORT_CONTRACT
    from prom.cohort.derived import is_index_imaging_column

    data = {}
    for spec in COHORT_CONTRACT:
        if spec.role == "score" or is_index_imaging_column(spec.name):
            continue  # scores come from the items; img_index_* are derived when modelling
        v = cols.pop(spec.name)  # a KeyError here is a simulator bug
        if spec.dtype == "float":
            data[spec.name] = v.astype(np.float64, copy=False)
        elif spec.dtype == "int":
            na = np.isnan(v)
            data[spec.name] = pd.arrays.IntegerArray(np.where(na, 0, v).astype(np.int64), na)
        elif spec.dtype == "bool":
            na = np.isnan(v)
            data[spec.name] = pd.arrays.BooleanArray(np.where(na, False, v == 1), na)
        elif spec.dtype == "category":
            data[spec.name] = pd.Categorical.from_codes(
                v.astype(np.int64), dtype=pd.CategoricalDtype(spec.categories)
            )
        else:
            data[spec.name] = pd.array(v, dtype="string")
    if cols:
        raise RuntimeError(f"simulator produced undeclared columns: {', '.join(cols)}")
    return pd.DataFrame(data, index=pd.RangeIndex(n), copy=False)
