"""MCID thresholds: a registry of published definitions and the rule that applies them.

A threshold turns a baseline/follow-up pair of scores into "reached a minimal clinically
important difference" (or, for a *state* threshold such as PASS, "reached an acceptable
state"). Direction comes from the instrument: for ODI, NRS and COMI lower is better, so
the improvement is ``baseline − follow-up``; for mJOA higher is better, so it is
``follow-up − baseline``.

Rules
-----
- ``absolute``: improvement ≥ ``absolute`` points.
- ``relative``: improvement ≥ ``relative`` × room, where room is the baseline score for
  lower-is-better instruments (percentage improvement, as in Ostelo 2008) and
  ``maximum − baseline`` for higher-is-better ones (the recovery rate).
- ``either`` / ``both``: the absolute or/and the relative criterion.
- ``state``: follow-up ≤ ``state`` (lower is better) or ≥ ``state`` (higher is better).
- ``by_severity``: the absolute criterion depends on the baseline severity band.

Comparisons are inclusive ("at least 10 points") with a tolerance of 1e-9 so that a score
of 35.6 − 25.6 computed in floating point still counts as 10.

A patient is *eligible* when their baseline leaves room to reach the threshold at all
(the best possible follow-up would count); labels of ineligible patients are missing,
never a silent zero. Data-driven thresholds (anchor- and distribution-based) are in
:mod:`prom.instruments.mcid_estimate`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from prom.instruments import INSTRUMENTS, Instrument, get_instrument
from prom.instruments.pairing import paired_follow_up

__all__ = [
    "MCIDThreshold",
    "MCID_THRESHOLDS",
    "get_threshold",
    "list_thresholds",
    "improvement",
    "mcid_attained",
    "mcid_eligible",
    "with_rule",
]

Rule = Literal["absolute", "relative", "either", "both", "state", "by_severity"]
_TOL = 1e-9


@dataclass(frozen=True)
class MCIDThreshold:
    """One published (or user-defined) definition of a clinically important outcome.

    Use :func:`dataclasses.replace` to derive a variant, e.g. the relative part only:
    ``replace(get_threshold("odi_ostelo2008"), rule="relative")``.
    """

    id: str
    instrument: str
    rule: Rule
    source: str
    absolute: float | None = None
    relative: float | None = None
    state: float | None = None
    by_severity: Mapping[str, float] = field(default_factory=dict)
    population: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if self.instrument not in INSTRUMENTS:
            raise ValueError(
                f"MCID threshold {self.id!r}: unknown instrument {self.instrument!r}; "
                f"expected one of {', '.join(INSTRUMENTS)}"
            )
        need = {
            "absolute": ("absolute",),
            "relative": ("relative",),
            "either": ("absolute", "relative"),
            "both": ("absolute", "relative"),
            "state": ("state",),
            "by_severity": ("by_severity",),
        }
        if self.rule not in need:
            raise ValueError(
                f"MCID threshold {self.id!r}: rule {self.rule!r} is not one of {', '.join(need)}"
            )
        for attr in need[self.rule]:
            value = getattr(self, attr)
            if not value and (attr == "by_severity" or value is None):
                raise ValueError(f"MCID threshold {self.id!r}: rule {self.rule!r} needs {attr}=...")
        if self.absolute is not None and self.absolute <= 0:
            raise ValueError(f"MCID threshold {self.id!r}: absolute={self.absolute} must be > 0")
        if self.relative is not None and not 0 < self.relative <= 1:
            raise ValueError(
                f"MCID threshold {self.id!r}: relative={self.relative} must be a fraction in (0, 1]"
            )
        if self.rule == "by_severity":
            inst = INSTRUMENTS[self.instrument]
            bands = {b.label for b in inst.bands}
            unknown = set(self.by_severity) - bands
            if not bands or unknown:
                raise ValueError(
                    f"MCID threshold {self.id!r}: by_severity bands {sorted(unknown)} are not "
                    f"{inst.name} bands ({', '.join(sorted(bands)) or 'none declared'})"
                )

    @property
    def instrument_obj(self) -> Instrument:
        return INSTRUMENTS[self.instrument]

    def describe(self) -> str:
        """One line a clinician can read, e.g. 'ODI improvement ≥ 10 points or ≥ 30%'."""
        inst = self.instrument_obj
        pts = "points" if inst.score_unit == "points" else (inst.score_unit or "")
        parts = {
            "absolute": f"improvement ≥ {self.absolute:g} {pts}" if self.absolute else "",
            "relative": f"improvement ≥ {self.relative:.0%}" if self.relative else "",
        }
        if self.rule == "absolute":
            text = parts["absolute"]
        elif self.rule == "relative":
            text = parts["relative"]
        elif self.rule == "either":
            text = f"{parts['absolute']} or ≥ {self.relative:.0%}"
        elif self.rule == "both":
            text = f"{parts['absolute']} and ≥ {self.relative:.0%}"
        elif self.rule == "state":
            op = "≥" if inst.higher_is_better else "≤"
            text = f"follow-up score {op} {self.state:g}"
        else:
            text = (
                "improvement ≥ "
                + ", ".join(f"{v:g} ({k})" for k, v in self.by_severity.items())
                + " by baseline severity"
            )
        return f"{inst.name} {text} ({self.short_source})"

    @property
    def short_source(self) -> str:
        """'Ostelo 2008' from the full reference (first author's surname and year)."""
        import re

        words = self.source.split(" ")
        # surname particles: "van Hooff ML" -> "van Hooff"
        author = " ".join(words[:2]) if words[0] in ("van", "de", "von", "der") else words[0]
        author = author.rstrip(",")
        year = re.search(r"\b(19|20)\d\d\b", self.source)
        return f"{author} {year.group(0)}" if year else author


def _t(**kw) -> MCIDThreshold:
    return MCIDThreshold(**kw)


_OSTELO = (
    "Ostelo RWJG, Deyo RA, Stratford P, et al. Interpreting change scores for pain and "
    "functional status in low back pain: towards international consensus regarding minimal "
    "important change. Spine 2008;33(1):90-94."
)
_BERG = (
    "Berg B, Gorosito MA, Fjeld O, et al. Machine learning models for predicting disability "
    "and pain following lumbar disc herniation surgery. JAMA Netw Open 2024;7(2):e2355024."
)

_TETREAULT = (
    "Tetreault L, Nouri A, Kopjar B, Côté P, Fehlings MG. The minimum clinically important "
    "difference of the modified Japanese Orthopaedic Association scale in patients with "
    "degenerative cervical myelopathy. Spine 2015;40(21):1653-1659."
)

MCID_THRESHOLDS: dict[str, MCIDThreshold] = {
    t.id: t
    for t in (
        _t(
            id="odi_ostelo2008",
            instrument="odi",
            rule="either",
            absolute=10,
            relative=0.30,
            source=_OSTELO,
            population="low back pain, consensus",
        ),
        _t(
            id="odi_fuse_ml",
            instrument="odi",
            rule="absolute",
            absolute=15,
            source="Staartjes VE, Stumpo V, Ricciardi L, et al. FUSE-ML: development and "
            "external validation of a clinical prediction model for mid-term outcomes "
            "after lumbar spinal fusion for degenerative disease. Eur Spine J "
            "2022;31(10):2629-2638.",
            population="lumbar fusion for degenerative disease",
        ),
        _t(
            id="odi_scoap_certain",
            instrument="odi",
            rule="absolute",
            absolute=15,
            source="Khor S, Lavallee D, Cizik AM, et al. Development and validation of a "
            "prediction model for pain and functional outcomes after lumbar spine "
            "surgery. JAMA Surg 2018;153(7):634-642.",
            population="lumbar spine surgery (SCOAP-CERTAIN)",
        ),
        _t(
            id="odi_norspine_ldh",
            instrument="odi",
            rule="absolute",
            absolute=22,
            source=_BERG,
            population="lumbar disc herniation surgery (NORspine)",
        ),
        _t(
            id="odi_spinereg",
            instrument="odi",
            rule="absolute",
            absolute=12.7,
            source="SpineREG registry MCID for ODI (12.7 points).",
            population="spine registry cohort",
            note="primary publication not yet verified by the project; use with that caveat",
        ),
        _t(
            id="odi_pass_vanhooff2016",
            instrument="odi",
            rule="state",
            state=22,
            source="van Hooff ML, Mannion AF, Staub LP, Ostelo RWJG, Fairbank JCT. "
            "Determination of the Oswestry Disability Index score equivalent to a "
            "'satisfactory symptom state' in patients undergoing surgery for "
            "degenerative disorders of the lumbar spine—a Spine Tango registry-based "
            "study. Spine J 2016;16(10):1221-1230.",
            population="degenerative lumbar surgery",
            note="PASS: a state, not a change",
        ),
        _t(
            id="nrs_back_ostelo2008",
            instrument="nrs_back",
            rule="either",
            absolute=2,
            relative=0.30,
            source=_OSTELO,
            population="low back pain, consensus",
        ),
        _t(
            id="nrs_leg_ostelo2008",
            instrument="nrs_leg",
            rule="either",
            absolute=2,
            relative=0.30,
            source=_OSTELO,
            population="low back pain, consensus",
        ),
        _t(
            id="nrs_back_norspine_ldh",
            instrument="nrs_back",
            rule="absolute",
            absolute=2,
            source=_BERG,
            population="lumbar disc herniation surgery (NORspine)",
        ),
        _t(
            id="nrs_leg_norspine_ldh",
            instrument="nrs_leg",
            rule="absolute",
            absolute=4,
            source=_BERG,
            population="lumbar disc herniation surgery (NORspine)",
        ),
        _t(
            id="nrs_leg_tfesi_50pct",
            instrument="nrs_leg",
            rule="relative",
            relative=0.50,
            source="Kim JK, Chang MC. Machine learning prediction of therapeutic outcome "
            "after transforaminal epidural steroid injection for radiculopathy from "
            "herniated lumbar disc. Bioengineering 2026;13(1):18.",
            population="TFESI for radiculopathy, outcome at 1 month",
        ),
        _t(
            id="comi_mannion2009",
            instrument="comi",
            rule="absolute",
            absolute=2.2,
            source="Mannion AF, Porchet F, Kleinstück FS, et al. The quality of spine surgery "
            "from the patient's perspective. Part 1: the Core Outcome Measures Index in "
            "clinical practice. Eur Spine J 2009;18(Suppl 3):367-373.",
            population="spine surgery, 12 months",
        ),
        _t(
            id="mjoa_tetreault2015",
            instrument="mjoa",
            rule="absolute",
            absolute=2,
            source=_TETREAULT,
            population="degenerative cervical myelopathy, surgery",
        ),
        _t(
            id="mjoa_tetreault2015_severity",
            instrument="mjoa",
            rule="by_severity",
            by_severity={"mild": 1, "moderate": 2, "severe": 3},
            source=_TETREAULT,
            population="degenerative cervical myelopathy, surgery",
            note="baseline severity by mJOA band; patients at 18 (no impairment) are ineligible",
        ),
    )
}


def get_threshold(threshold: str | MCIDThreshold) -> MCIDThreshold:
    """A registered threshold by id, or the threshold itself if one is given."""
    if isinstance(threshold, MCIDThreshold):
        return threshold
    if not isinstance(threshold, str):
        raise TypeError(
            f"threshold must be an id or an MCIDThreshold, got {type(threshold).__name__}"
        )
    try:
        return MCID_THRESHOLDS[threshold]
    except KeyError:
        raise ValueError(
            f"unknown MCID threshold {threshold!r}; registered: {', '.join(MCID_THRESHOLDS)}"
        ) from None


def list_thresholds(instrument: str | None = None) -> pd.DataFrame:
    """The registry as a table (id, instrument, rule, values, definition, source)."""
    rows = []
    for t in MCID_THRESHOLDS.values():
        if instrument is not None and t.instrument != instrument:
            continue
        rows.append(
            {
                "id": t.id,
                "instrument": t.instrument,
                "rule": t.rule,
                "absolute": t.absolute,
                "relative": t.relative,
                "state": t.state,
                "definition": t.describe(),
                "population": t.population,
                "source": t.source,
                "note": t.note,
            }
        )
    return pd.DataFrame(rows)


def _as_float(x, name: str) -> np.ndarray:
    try:
        arr = (
            np.asarray(x, dtype=float)
            if not isinstance(x, pd.Series)
            else x.to_numpy(dtype=float, na_value=np.nan)
        )
    except (TypeError, ValueError):  # text among the scores: name it and where it is
        from prom.errors import format_values

        s = pd.Series(x, dtype=object) if not isinstance(x, pd.Series) else x
        bad = (s.notna() & pd.to_numeric(s, errors="coerce").isna()).to_numpy()
        where = f"rows {', '.join(map(str, s.index[bad][:8]))}"
        raise ValueError(
            f"{name} holds text that is not a score: {format_values(s[bad].tolist())} at "
            f"{where}; expected numbers, missing values as NaN/None"
        ) from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def improvement(baseline, follow_up, instrument: str) -> np.ndarray:
    """Improvement in the instrument's own direction (positive = better). Two Series are
    paired by their index (:func:`prom.instruments.pairing.paired_follow_up`)."""
    inst: Instrument = (  # a key in any case: 'ODI' is odi
        INSTRUMENTS.get(instrument.lower()) or get_instrument(instrument)
        if isinstance(instrument, str)
        else instrument
    )
    follow_up = paired_follow_up(baseline, follow_up)
    b, f = _as_float(baseline, "baseline"), _as_float(follow_up, "follow_up")
    if b.shape != f.shape:
        raise ValueError(f"baseline has {b.size} values but follow_up has {f.size}")
    return f - b if inst.higher_is_better else b - f


def _room(b: np.ndarray, inst: Instrument) -> np.ndarray:
    lo, hi = inst.score_range
    return hi - b if inst.higher_is_better else b - lo


def _attained(b: np.ndarray, f: np.ndarray, t: MCIDThreshold) -> np.ndarray:
    """Boolean attainment where both scores are present (NaN rows give False here)."""
    inst = t.instrument_obj
    d = f - b if inst.higher_is_better else b - f
    with np.errstate(invalid="ignore", divide="ignore"):
        room = _room(b, inst)
        rel = np.where(room > 0, d / np.where(room > 0, room, 1.0), -np.inf)
    abs_ok = (d >= t.absolute - _TOL) if t.absolute is not None else np.zeros(b.shape, bool)
    rel_ok = (rel >= t.relative - _TOL) if t.relative is not None else np.zeros(b.shape, bool)
    if t.rule == "absolute":
        return abs_ok
    if t.rule == "relative":
        return rel_ok & (d > 0)
    if t.rule == "either":
        return (abs_ok | rel_ok) & (d > 0)
    if t.rule == "both":
        return abs_ok & rel_ok
    if t.rule == "state":
        if t.state is None:  # refused when the threshold was declared
            raise ValueError(f"MCID threshold {t.id!r}: rule 'state' needs state=...")
        return f >= t.state - _TOL if inst.higher_is_better else f <= t.state + _TOL
    # by_severity
    bands = inst.band(b).astype(object).to_numpy()
    need = np.array(
        [t.by_severity.get(x, np.nan) if isinstance(x, str) else np.nan for x in bands], dtype=float
    )
    with np.errstate(invalid="ignore"):
        return d >= need - _TOL


def mcid_eligible(baseline, threshold: str | MCIDThreshold) -> np.ndarray:
    """Whether each baseline score leaves room to reach the threshold at all.

    Evaluates the rule at the best possible follow-up score (the floor for lower-is-better
    instruments, the ceiling otherwise). Missing baselines are not eligible. For a state
    threshold every present baseline is eligible.
    """
    t = get_threshold(threshold)
    inst = t.instrument_obj
    b = _as_float(baseline, "baseline")
    lo, hi = inst.score_range
    best = np.full(b.shape, hi if inst.higher_is_better else lo)
    ok = ~np.isnan(b)
    out = np.zeros(b.shape, dtype=bool)
    if t.rule == "state":
        out[ok] = True
        return out
    out[ok] = _attained(b[ok], best[ok], t)
    return out


def mcid_attained(baseline, follow_up, threshold: str | MCIDThreshold, index=None) -> pd.Series:
    """MCID label per patient: 1.0 attained, 0.0 not, NaN where it cannot be determined.

    NaN when either score is missing or the baseline leaves no room to reach the threshold
    (see :func:`mcid_eligible`). Returns a float Series (on ``index`` or on the baseline's
    index when it is a Series). Two Series are paired by their index: the same patients in
    another order are put in the baseline's order; other indexes are refused.
    """
    t = get_threshold(threshold)
    follow_up = paired_follow_up(baseline, follow_up)
    b, f = _as_float(baseline, "baseline"), _as_float(follow_up, "follow_up")
    if b.shape != f.shape:
        raise ValueError(f"baseline has {b.size} values but follow_up has {f.size}")
    lo, hi = t.instrument_obj.score_range
    for name, arr in (("baseline", b), ("follow_up", f)):
        bad = ~np.isnan(arr) & ((arr < lo - _TOL) | (arr > hi + _TOL))
        if bad.any():
            idx = np.flatnonzero(bad)[:8].tolist()
            raise ValueError(
                f"{name} has {int(bad.sum())} {t.instrument_obj.name} score(s) outside "
                f"{lo:g}–{hi:g} (positions {idx}); scores, not item sums, are expected"
            )
    if index is None and isinstance(baseline, pd.Series):
        index = baseline.index
    label = np.full(b.shape, np.nan)
    ok = ~np.isnan(b) & ~np.isnan(f) & mcid_eligible(b, t)
    label[ok] = _attained(b[ok], f[ok], t).astype(float)
    return pd.Series(label, index=index, name=t.id)


def with_rule(threshold: str | MCIDThreshold, **changes) -> MCIDThreshold:
    """A variant of a registered threshold, e.g. ``with_rule('odi_ostelo2008', rule='relative')``."""
    t = get_threshold(threshold)
    new_id = changes.pop("id", None) or t.id + "_" + "_".join(f"{k}{v}" for k, v in changes.items())
    return dataclasses.replace(t, id=new_id, **changes)


# Data-driven thresholds live in their own module; re-exported here so that one import
# gives the whole MCID toolbox.
from prom.instruments.mcid_estimate import (  # noqa: E402
    AnchorMCID,
    DistributionMCID,
    anchor_from_rating,
    anchor_mcid,
    distribution_mcid,
)

__all__ += [
    "AnchorMCID",
    "DistributionMCID",
    "anchor_from_rating",
    "anchor_mcid",
    "distribution_mcid",
]
