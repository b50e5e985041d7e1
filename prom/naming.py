"""Column-naming conventions of the cohort table (see DESIGN.md, "Contracts").

One place defines how a column name is built so that instruments, the contract, the
simulator and the task registry agree without repeating string literals.

- PROM items:       ``<instrument>_<item>_<timepoint>``   e.g. ``odi_lifting_12m``
- PROM scores:      ``<instrument>_<timepoint>``          e.g. ``odi_0m``, ``nrs_leg_1m``
  (the NRS instruments are single items: item column and score column coincide)
- imaging features: ``img_<level>_<feature>``             e.g. ``img_l4_l5_canal_ap_mm``
- simulator truth:  ``true_p_<task>``                     never a predictor
"""

from __future__ import annotations

from radiomics_features.levels import DISC_LEVELS, VERTEBRA_LEVELS

__all__ = [
    "TIMEPOINTS",
    "BASELINE",
    "FOLLOW_UPS",
    "DISC_LEVELS",
    "VERTEBRA_LEVELS",
    "item_column",
    "score_column",
    "imaging_column",
    "truth_column",
    "looks_like_id",
    "split_column_names",
]

#: Time points of PROM collection, in months from baseline (``0m``).
TIMEPOINTS: tuple[str, ...] = ("0m", "1m", "3m", "12m")
BASELINE = "0m"
FOLLOW_UPS: tuple[str, ...] = ("1m", "3m", "12m")


def item_column(instrument: str, item: str, timepoint: str) -> str:
    """Column holding one item answer, e.g. ``item_column('odi', 'lifting', '0m')``."""
    _check_timepoint(timepoint)
    return f"{instrument}_{item}_{timepoint}"


def score_column(instrument: str, timepoint: str) -> str:
    """Column holding an instrument's score, e.g. ``score_column('odi', '12m') == 'odi_12m'``."""
    _check_timepoint(timepoint)
    return f"{instrument}_{timepoint}"


def imaging_column(level: str, feature: str) -> str:
    """Wide imaging column, e.g. ``imaging_column('l4_l5', 'canal_ap_mm')``."""
    if level not in DISC_LEVELS and level not in VERTEBRA_LEVELS:
        raise ValueError(
            f"level {level!r} is not a lumbar level; expected one of "
            f"{', '.join(DISC_LEVELS + VERTEBRA_LEVELS)}"
        )
    return f"img_{level}_{feature}"


def truth_column(task: str) -> str:
    """Simulator column with the true probability of a binary task's outcome."""
    return f"true_p_{task}"


def _check_timepoint(timepoint: str) -> None:
    if timepoint not in TIMEPOINTS:
        raise ValueError(f"time point {timepoint!r} is not one of {', '.join(TIMEPOINTS)}")


def looks_like_id(name: str) -> bool:
    """A column name that reads as a record or patient id (``Patient ID``, ``PatID``,
    ``record_id``, ``MRN``; case, spaces and punctuation aside). The commands use it only to
    suggest ``--id-column``, never to pick an id column by themselves."""
    key = "".join(ch for ch in name.lower() if ch.isascii() and ch.isalnum())
    return key in ("id", "pid", "mrn") or (key.endswith("id") and len(key) <= 12)


def split_column_names(text: str, columns) -> list[str]:
    """Comma-separated column names as typed on a command line (``--predictors``,
    ``--subgroups``): each name kept as typed where ``columns`` holds exactly that name (a
    header exported with a trailing space), else without its surrounding spaces (``a, b``);
    blank names dropped, repeats kept (the caller decides whether a repeat is an error).
    A name holding a comma is given in double quotes: ``age,"pain, baseline"``."""
    have = {str(c) for c in columns}
    if '"' in text:
        import csv

        parts = next(csv.reader([text], skipinitialspace=True), [])
    else:
        parts = text.split(",")
    names = [n if n in have else n.strip() for n in parts]
    return [n for n in names if n.strip()]
