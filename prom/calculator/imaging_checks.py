"""What the calculator's imaging panel says about how sure the level names are and about
the canal at each level: the plausibility checks and the measurement-based stenosis
category of :mod:`radiomics_features` (``confidence``, ``checks``, ``case_*``,
``canal_stenosis`` columns of the per-level table), turned into panel columns and notes.

The stenosis category is labelled as a measurement (from the canal's AP diameter, and its
cross-section where measured), never as a radiologist's grade, and is not a model input.
"""

from __future__ import annotations

import math

import pandas as pd

__all__ = ["PANEL_COLUMNS", "level_check_columns", "check_notes"]

#: Extra per-level columns of the panel (``ScanFeatures.per_level``) and their headings.
PANEL_COLUMNS: dict[str, str] = {
    "confidence": "level confidence",
    "checks": "level checks",
    "canal_stenosis": "canal stenosis (measured)",
}


def _text(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def level_check_columns(discs: pd.DataFrame, level: str) -> dict[str, str]:
    """The panel's check and stenosis columns of one disc level (``discs`` indexed by
    level); a level not found gets confidence ``none`` and ``not measured``."""
    if level not in discs.index:
        return {"confidence": "none", "checks": "", "canal_stenosis": "not measured"}
    return {
        "confidence": _text(discs.at[level, "confidence"]) if "confidence" in discs else "",
        "checks": _text(discs.at[level, "checks"]) if "checks" in discs else "",
        "canal_stenosis": _text(discs.at[level, "canal_stenosis"])
        if "canal_stenosis" in discs
        else "not measured",
    }


def check_notes(long: pd.DataFrame, index_level: str) -> list[str]:
    """Notes for the surgeon: the case's level confidence and why it is not high, the disc
    volume explanation, and the index level's canal category with its basis."""
    out: list[str] = []
    if long.empty:
        return out
    first = long.iloc[0]
    conf = _text(first.get("case_confidence")) or "none"
    checks = _text(first.get("case_checks"))
    line = f"Level names: confidence {conf}"
    out.append(line + (f" — {checks}" if checks else " (every plausibility check passed)"))
    at = long[(long["level"] == index_level) & (long["kind"] == "disc")]
    if not at.empty:
        r = at.iloc[0]
        if _text(r.get("checks")):
            out.append(f"{index_level.upper().replace('_', '/')} level checks: {r['checks']}")
        basis = _text(r.get("canal_stenosis_basis"))
        if basis:
            out.append(
                f"Canal at {index_level.upper().replace('_', '/')}: "
                f"{_text(r.get('canal_stenosis')) or 'not measured'} — {basis}"
            )
    notes = _text(first.get("case_notes"))
    if notes:
        out.append(notes)
    return out
