"""What the calculator's imaging panel says about how sure the level names are and about
the canal at each level: the plausibility checks and the measurement-based stenosis
category of :mod:`radiomics_features` (``confidence``, ``checks``, ``case_*``,
``canal_stenosis`` columns of the per-level table), turned into panel columns and notes.

The stenosis category is labelled as a measurement (from the canal's AP diameter, and its
cross-section where measured), never as a radiologist's grade, and is not a model input.

:func:`implausible` applies the pipeline's own plausibility ranges
(:mod:`radiomics_features.levelling.plausibility`) to a level's measured sizes: a level
that fails one, or whose name has low confidence, does not fill the calculator's inputs
(:mod:`prom.calculator.imaging`).
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = [
    "PANEL_COLUMNS",
    "level_check_columns",
    "case_notes",
    "level_notes",
    "implausible",
    "level_name",
    "stenosis_text",
]

#: Extra per-level columns of the panel (``ScanFeatures.per_level``) and their headings.
PANEL_COLUMNS: dict[str, str] = {
    "confidence": "level confidence",
    "checks": "level checks",
    "canal_stenosis": "canal stenosis (measured)",
}

#: How a measured canal category reads on screen: "none" would read as "not measured".
_STENOSIS_TEXT = {
    "none": "no stenosis",
    "relative": "relative stenosis",
    "absolute": "absolute stenosis",
}


def _text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def level_name(level: str) -> str:
    """``'l4_l5'`` → ``'L4/L5'``, as the form shows an index level."""
    from prom.calculator.fields import option_label

    return option_label("index_level", level)


def stenosis_text(category: str) -> str:
    """The measured canal category as the panel shows it (``'none'`` → ``'no stenosis'``;
    ``'not measured'`` and anything else unchanged)."""
    return _STENOSIS_TEXT.get(category, category)


def level_check_columns(discs: pd.DataFrame, level: str) -> dict[str, str]:
    """The panel's check and stenosis columns of one disc level (``discs`` indexed by
    level); a level not found gets confidence ``none`` and ``not measured``."""
    if level not in discs.index:
        return {
            "confidence": "none",
            "checks": "",
            "canal_stenosis": "not measured",
            "canal_stenosis_basis": "",
        }
    return {
        "confidence": _text(discs.at[level, "confidence"]) if "confidence" in discs else "",
        "checks": _text(discs.at[level, "checks"]) if "checks" in discs else "",
        "canal_stenosis": _text(discs.at[level, "canal_stenosis"])
        if "canal_stenosis" in discs
        else "not measured",
        "canal_stenosis_basis": _text(discs.at[level, "canal_stenosis_basis"])
        if "canal_stenosis_basis" in discs
        else "",
    }


def case_notes(long: pd.DataFrame) -> list[str]:
    """Notes for the surgeon about the whole scan: the case's level confidence and why it
    is not high, and the disc volume explanation."""
    out: list[str] = []
    if long.empty:
        return out
    first = long.iloc[0]
    conf = _text(first.get("case_confidence")) or "none"
    checks = _text(first.get("case_checks"))
    line = f"Level names: confidence {conf}"
    out.append(line + (f" — {checks}" if checks else " (every plausibility check passed)"))
    notes = _text(first.get("case_notes"))
    if notes:
        out.append(notes)
    return out


def level_notes(row: pd.Series, level: str) -> list[str]:
    """Notes about one disc level (a row of ``ScanFeatures.per_level``): its failed checks
    and its canal category with the category's basis."""
    out: list[str] = []
    name = level_name(level)
    if _text(row.get("checks")):
        out.append(f"{name} level checks: {row['checks']}")
    basis = _text(row.get("canal_stenosis_basis"))
    if basis:
        category = stenosis_text(_text(row.get("canal_stenosis")) or "not measured")
        out.append(f"Canal at {name}: {category} — {basis}")
    return out


def implausible(row: pd.Series) -> list[str]:
    """The plausibility ranges of :mod:`radiomics_features.levelling.plausibility` that a
    level's measured sizes (a row of ``ScanFeatures.per_level``) fall outside, each as
    ``'disc height 23.0 mm is outside the plausible 2–20 mm'``."""
    from radiomics_features.levelling.plausibility import size_failures

    out = []
    for f in size_failures(row, "disc"):
        u = f" {f.unit}" if f.unit else ""
        out.append(
            f"{f.what} {f.value:.3g}{u} is outside the plausible {f.bounds[0]:g}–{f.bounds[1]:g}{u}"
        )
    return out
