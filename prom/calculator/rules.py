"""Transparent triage rules shown beside the model's triage suggestion.

The model's triage task (``triage``) learns which treatment patients like this one
*received* at the development sites. A surgeon should see it next to a rule they can check
by hand, so that a disagreement is visible. Two rules, each a pure function of the
baseline scores:

Lumbar — :func:`lumbar_triage_rule`, a SPOILS-style severity matrix
-------------------------------------------------------------------
Rows: the ODI severity class; columns: leg pain, counted only when it is leg-dominant
(NRS leg ≥ NRS back), because a transforaminal injection and decompression treat
radicular pain, not axial back pain.

=============================== ================ ====================== =======================
ODI class (Fairbank & Pynsent)  leg pain ≤ 4, or  leg-dominant,           leg-dominant,
                                back-dominant     moderate (5–6)          severe (7–10)
=============================== ================ ====================== =======================
minimal, 0–20                   conservative      conservative            TFESI
moderate, 21–40                 conservative      TFESI                   TFESI
severe, 41–60                   conservative      TFESI                   surgical consultation
crippled or bed-bound, 61–100   surgical consultation (every column)
=============================== ================ ====================== =======================

Sources of the classes: ODI bands and their meaning — minimal (advice only), moderate
(conservative treatment), severe (detailed investigation), crippled (positive
intervention required), bed-bound — from Fairbank JCT, Pynsent PB, The Oswestry Disability
Index, Spine 2000;25(22):2940-2952 (the bands of :class:`prom.instruments.ODI`). Pain
severity cut-points on the 0–10 NRS — mild 1–4, moderate 5–6, severe 7–10 — from Serlin
RC, Mendoza TR, Nakamura Y, Edwards KR, Cleeland CS, When is cancer pain mild, moderate or
severe? Pain 1995;61(2):277-284. The matrix that combines them follows the severity ×
disability/pain layout used for triage in the SPOILS cohort; it is this toolkit's own
transparent comparator, **not a validated guideline**: it is shown so the surgeon can see
where the model departs from a simple rule, not as a recommendation. Red flags (cauda
equina syndrome, progressive motor deficit, suspected infection or tumour) are outside
both rule and model and override them.

Cervical myelopathy — :func:`cervical_triage_rule`
--------------------------------------------------
mJOA severity (Tetreault et al., Eur Spine J 2017;26(1):78-84: severe 0–11, moderate
12–14, mild 15–17) and the AO Spine / CSRS guideline (Fehlings MG, Tetreault LA, Riew KD,
et al., A clinical practice guideline for the management of patients with degenerative
cervical myelopathy, Global Spine J 2017;7(3 Suppl):70S-83S): surgery is recommended for
moderate and severe myelopathy; for mild myelopathy surgery or a supervised structured
rehabilitation trial is offered; mJOA 18 means no myelopathic impairment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "RuleSuggestion",
    "lumbar_triage_rule",
    "cervical_triage_rule",
    "odi_class",
    "pain_class",
    "LUMBAR_RULE_SOURCE",
    "CERVICAL_RULE_SOURCE",
    "SUGGESTIONS",
    "score_text",
]

SUGGESTIONS: tuple[str, ...] = ("conservative", "tfesi", "surgical consultation")

LUMBAR_RULE_SOURCE = (
    "SPOILS-style severity matrix (this toolkit's comparator, not a validated guideline): "
    "ODI classes from Fairbank & Pynsent, Spine 2000;25:2940-52; NRS pain severity "
    "cut-points (mild 1-4, moderate 5-6, severe 7-10) from Serlin et al., Pain 1995;61:277-84."
)
CERVICAL_RULE_SOURCE = (
    "mJOA severity (Tetreault et al., Eur Spine J 2017;26:78-84) and the AO Spine/CSRS "
    "guideline for degenerative cervical myelopathy (Fehlings et al., Global Spine J "
    "2017;7(3 Suppl):70S-83S)."
)


@dataclass(frozen=True)
class RuleSuggestion:
    """What a rule suggests, the classes it read, and why, in one sentence."""

    suggestion: str
    severity_class: str
    pain_class: str | None
    reason: str
    source: str


def score_text(value: float) -> str:
    """A score as every displayed text shows it: one decimal, a trailing ``.0`` dropped
    (``44.4444`` → ``'44.4'``, ``40.0`` → ``'40'``). Display only: the rules decide on
    the exact value."""
    return f"{round(float(value), 1):g}"


def _check(name: str, value, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if math.isnan(v) or not low <= v <= high:
        raise ValueError(f"{name} = {value!r} is outside {low:g}–{high:g}")
    return v


def odi_class(odi: float) -> str:
    """Fairbank & Pynsent's ODI class: minimal ≤ 20 < moderate ≤ 40 < severe ≤ 60 <
    crippled ≤ 80 < bed-bound (the band of :class:`prom.instruments.ODI`)."""
    from prom.instruments import INSTRUMENTS

    v = _check("ODI", odi, 0, 100)
    return str(INSTRUMENTS["odi"].band_of(v))


def pain_class(nrs: float) -> str:
    """Serlin et al.'s severity of a 0–10 pain rating: none 0, mild (0, 4], moderate (4, 6],
    severe (6, 10] (fractional ratings, e.g. from a VAS, fall to the class above)."""
    v = _check("NRS", nrs, 0, 10)
    if v == 0:
        return "none"
    if v <= 4:
        return "mild"
    if v <= 6:
        return "moderate"
    return "severe"


def lumbar_triage_rule(odi: float, nrs_leg: float, nrs_back: float) -> RuleSuggestion:
    """The lumbar severity matrix of the module docstring.

    >>> lumbar_triage_rule(odi=48, nrs_leg=8, nrs_back=4).suggestion
    'surgical consultation'
    >>> lumbar_triage_rule(odi=30, nrs_leg=5, nrs_back=3).suggestion
    'tfesi'
    >>> lumbar_triage_rule(odi=48, nrs_leg=5, nrs_back=7).suggestion  # back-dominant
    'conservative'
    """
    band = odi_class(odi)
    leg = pain_class(nrs_leg)
    back = _check("NRS back", nrs_back, 0, 10)
    leg_dominant = float(nrs_leg) >= back
    radicular = (
        leg if leg_dominant and leg in ("moderate", "severe") else "mild or not leg-dominant"
    )
    column = {"moderate": 1, "severe": 2}.get(radicular, 0)
    matrix = {
        "minimal": ("conservative", "conservative", "tfesi"),
        "moderate": ("conservative", "tfesi", "tfesi"),
        "severe": ("conservative", "tfesi", "surgical consultation"),
    }
    if band in ("crippled", "bed-bound"):
        suggestion = "surgical consultation"
        reason = (
            f"ODI {score_text(odi)} is in the {band} class (> 60): positive intervention "
            "is required whatever the pain pattern"
        )
    else:
        suggestion = matrix[band][column]
        pattern = (
            f"leg-dominant {leg} leg pain (NRS leg {score_text(nrs_leg)} ≥ back {score_text(back)})"
            if column
            else (
                f"leg pain {leg} (NRS {score_text(nrs_leg)})"
                if leg_dominant
                else f"back-dominant pain (NRS back {score_text(back)} > leg {score_text(nrs_leg)})"
            )
        )
        reason = f"ODI {score_text(odi)} is {band} disability with {pattern}"
    return RuleSuggestion(suggestion, band, radicular, reason, LUMBAR_RULE_SOURCE)


def cervical_triage_rule(mjoa: float) -> RuleSuggestion:
    """Cervical myelopathy by mJOA severity (module docstring).

    >>> cervical_triage_rule(11).suggestion
    'surgical consultation'
    """
    from prom.instruments import INSTRUMENTS

    v = _check("mJOA", mjoa, 0, 18)
    band = (
        str(INSTRUMENTS["mjoa"].band_of(v))
        if v == round(v)
        else ("severe" if v < 12 else "moderate" if v < 15 else "mild" if v < 18 else "none")
    )
    if band in ("severe", "moderate"):
        return RuleSuggestion(
            "surgical consultation",
            band,
            None,
            f"mJOA {score_text(v)} is {band} myelopathy: surgery is recommended",
            CERVICAL_RULE_SOURCE,
        )
    if band == "mild":
        return RuleSuggestion(
            "surgical consultation",
            band,
            None,
            f"mJOA {score_text(v)} is mild myelopathy: offer surgery or a supervised "
            "structured rehabilitation trial (discuss both)",
            CERVICAL_RULE_SOURCE,
        )
    return RuleSuggestion(
        "conservative",
        band,
        None,
        f"mJOA {score_text(v)}: no myelopathic impairment on the mJOA",
        CERVICAL_RULE_SOURCE,
    )
