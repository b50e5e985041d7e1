"""Oswestry Disability Index, version 2.1a."""

from __future__ import annotations

import numpy as np

from prom.instruments.base import Band, Instrument, Item

__all__ = ["ODI"]

_SECTIONS = (
    ("pain_intensity", "Section 1 – pain intensity"),
    ("personal_care", "Section 2 – personal care (washing, dressing)"),
    ("lifting", "Section 3 – lifting"),
    ("walking", "Section 4 – walking"),
    ("sitting", "Section 5 – sitting"),
    ("standing", "Section 6 – standing"),
    ("sleeping", "Section 7 – sleeping"),
    ("sex_life", "Section 8 – sex life (if applicable)"),
    ("social_life", "Section 9 – social life"),
    ("travelling", "Section 10 – travelling"),
)


class ODI(Instrument):
    """Oswestry Disability Index v2.1a (0–100, lower is better).

    Ten sections, each answered 0 (no disability) to 5. Score = 100 × (sum of answered
    sections) / (5 × number of answered sections), e.g. 16 points over 9 answered
    sections = 35.6.

    Missing sections: Fairbank & Pynsent (2000) score a form with a section missed or not
    applicable (typically section 8, sex life) over the sections answered. The default,
    ``max_missing=1``, follows that worked rule; registries that accept more missing
    sections can raise it, and the reason column records every withheld score.

    Bands (Fairbank & Pynsent 2000): 0–20 minimal disability, 21–40 moderate,
    41–60 severe, 61–80 crippled, 81–100 bed-bound (scores between bands, possible when
    sections are missing, go to the higher band).
    """

    key = "odi"
    name = "ODI"
    version = "2.1a"
    citation = (
        "Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-2952."
    )
    items = tuple(Item(n, label, 0, 5) for n, label in _SECTIONS)
    score_range = (0.0, 100.0)
    higher_is_better = False
    default_max_missing = 1
    bands = (
        Band("minimal", 0, 20),
        Band("moderate", 20, 40),
        Band("severe", 40, 60),
        Band("crippled", 60, 80),
        Band("bed-bound", 80, 100),
    )

    @property
    def missing_rule(self) -> str:  # type: ignore[override]
        return f"score over answered sections; at most {self._max_missing()} of 10 may be missing"

    def raw_score(self, answers: np.ndarray) -> np.ndarray:
        answered = (~np.isnan(answers)).sum(axis=1)
        return 100.0 * np.nansum(answers, axis=1) / (5.0 * answered)
