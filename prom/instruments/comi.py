"""Core Outcome Measures Index (COMI), back version."""

from __future__ import annotations

import numpy as np

from prom.instruments.base import Instrument, Item

__all__ = ["COMI"]

# The five-point items are stored as their response index 0–4 (0 = best answer) and
# scored 0 / 2.5 / 5 / 7.5 / 10.
_LIKERT = "(0 best … 4 worst; scored ×2.5)"


class COMI(Instrument):
    """Core Outcome Measures Index (0–10, lower is better).

    Five domains, each on 0–10:

    - pain: the larger of the back- and leg-pain ratings (0–10), read from the NRS
      columns ``nrs_back_<tp>`` and ``nrs_leg_<tp>``;
    - function, symptom-specific well-being, general quality of life: one 5-point item
      each, scored 0, 2.5, 5, 7.5, 10;
    - disability: the mean of social and work disability (5-point items, scored likewise).

    COMI = mean of the five domains.

    Missing items: by default every item is required (``max_missing=0``). With a larger
    ``max_missing`` a domain is scored from its answered items (pain from the rating
    given, disability from the one item answered) and COMI is the mean of the domains
    scored; the reason column names what was missing whenever a score is withheld.
    """

    key = "comi"
    name = "COMI"
    version = "back-2005"
    citation = (
        "Mannion AF, Elfering A, Staerkle R, et al. Outcome assessment in low back pain: "
        "how low can you go? Eur Spine J 2005;14(10):1014-1026."
    )
    items = (
        Item("back_pain", "back pain rating 0–10", 0, 10, integer=False, column="nrs_back_{tp}"),
        Item(
            "leg_pain", "leg/buttock pain rating 0–10", 0, 10, integer=False, column="nrs_leg_{tp}"
        ),
        Item("function", f"interference with normal work incl. housework {_LIKERT}", 0, 4),
        Item("wellbeing", f"symptom-specific well-being {_LIKERT}", 0, 4),
        Item("qol", f"general quality of life {_LIKERT}", 0, 4),
        Item(
            "social_disability", f"days kept from social activities, past 4 weeks {_LIKERT}", 0, 4
        ),
        Item(
            "work_disability", f"days kept from work/usual activities, past 4 weeks {_LIKERT}", 0, 4
        ),
    )
    score_range = (0.0, 10.0)
    higher_is_better = False
    default_max_missing = 0

    @property
    def missing_rule(self) -> str:  # type: ignore[override]
        m = self._max_missing()
        return "every item must be answered" if m == 0 else f"at most {m} of 7 items may be missing"

    def raw_score(self, answers: np.ndarray) -> np.ndarray:
        import warnings

        a = answers
        with warnings.catch_warnings():
            # all-missing domains give NaN here, and are then left out of the mean
            warnings.simplefilter("ignore", RuntimeWarning)
            pain = np.nanmax(a[:, 0:2], axis=1)
            function = 2.5 * a[:, 2]
            wellbeing = 2.5 * a[:, 3]
            qol = 2.5 * a[:, 4]
            disability = 2.5 * np.nanmean(a[:, 5:7], axis=1)
            domains = np.column_stack([pain, function, wellbeing, qol, disability])
            return np.nanmean(domains, axis=1)
