"""Plain-text lines about each case of a batch: how long it took and how sure its level
names are (:mod:`radiomics_features.levelling.plausibility`), for terminals and logs.

Only level names, confidences, check reasons and seconds: no patient data beyond the
patient id the caller already holds.
"""

from __future__ import annotations

import pandas as pd

from radiomics_features.pipeline.case import TIMED_STAGES

__all__ = ["case_lines"]


def _first(g: pd.DataFrame, col: str) -> str:
    if col not in g or g.empty:
        return ""
    v = g[col].iloc[0]
    return "" if pd.isna(v) else str(v)


def case_lines(long: pd.DataFrame, case_timings: pd.DataFrame, *, max_levels: int = 5) -> list[str]:
    """One line per case (``patient_id``: total seconds, per-stage seconds, level
    confidence) and indented lines with the DICOM series read (when one was), its case
    checks, case notes and up to ``max_levels`` flagged levels with their reasons."""
    out: list[str] = []
    by_case = dict(tuple(long.groupby("patient_id", sort=False))) if len(long) else {}
    for _, t in case_timings.iterrows():
        pid = str(t["patient_id"])
        stages = ", ".join(f"{s} {float(t[s]):.1f}" for s in TIMED_STAGES if float(t[s]) > 0)
        g = by_case.get(t["patient_id"], pd.DataFrame())
        conf = _first(g, "case_confidence") or "none"
        out.append(f"{pid}: {float(t['total']):.1f} s ({stages}); level confidence {conf}")
        series = _first(g, "prov_dicom_series")
        if series:
            out.append(f"  DICOM series read: {series}")
        checks = _first(g, "case_checks")
        if checks:
            out.append(f"  checks: {checks}")
        notes = _first(g, "case_notes")
        if notes:
            out.append(f"  note: {notes}")
        if "checks" in g:
            flagged = g[g["checks"].fillna("").astype(str) != ""]
            for _, r in flagged.head(max_levels).iterrows():
                out.append(f"  {r['level']} ({r['confidence']}): {r['checks']}")
            if len(flagged) > max_levels:
                out.append(f"  … {len(flagged) - max_levels} more flagged level(s) in the tables")
    return out
