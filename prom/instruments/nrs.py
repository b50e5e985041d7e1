"""Numeric rating scales for back pain and leg pain."""

from __future__ import annotations

import numpy as np

from prom.instruments.base import Instrument, Item

__all__ = ["NRSBack", "NRSLeg"]

_NRS_CITATION = (
    "Childs JD, Piva SR, Fritz JM. Responsiveness of the numeric pain rating scale in "
    "patients with low back pain. Spine 2005;30(11):1331-1334."
)


class _NRS(Instrument):
    """A single 0–10 pain rating (0 no pain, 10 worst imaginable); lower is better.

    Answers need not be whole numbers: a 0–100 mm VAS mapped onto 0–10 (scale 0.1 in the
    column mapping) gives fractions, and these are kept as they are.
    """

    version = "0-10"
    citation = _NRS_CITATION
    score_range = (0.0, 10.0)
    higher_is_better = False
    default_max_missing = 0
    missing_rule = "the single rating must be answered"

    def raw_score(self, answers: np.ndarray) -> np.ndarray:
        return answers[:, 0].copy()


class NRSBack(_NRS):
    __doc__ = "Back-pain intensity, NRS 0–10 (lower is better).\n\n" + (_NRS.__doc__ or "")
    key = "nrs_back"
    name = "NRS back pain"
    items = (
        Item(
            "back",
            "back pain, average over the last week",
            0,
            10,
            integer=False,
            column="nrs_back_{tp}",
        ),
    )


class NRSLeg(_NRS):
    __doc__ = "Leg-pain intensity, NRS 0–10 (lower is better).\n\n" + (_NRS.__doc__ or "")
    key = "nrs_leg"
    name = "NRS leg pain"
    items = (
        Item(
            "leg",
            "leg (buttock) pain, average over the last week",
            0,
            10,
            integer=False,
            column="nrs_leg_{tp}",
        ),
    )
