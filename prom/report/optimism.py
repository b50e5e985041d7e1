"""Harrell's bootstrap optimism correction as the report shows it: its table and what
it is (beside the cross-validated figures, which estimate the same quantity)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prom.report.html import Markup, num, table

__all__ = ["OPTIMISM_NOTE", "optimism_table"]

#: What the optimism tables are, and why they differ from the cross-validated figures.
OPTIMISM_NOTE = (
    "A second internal validation of the model(s) named (by default the baseline, which is "
    "cheap to refit many times): the model is refitted on bootstrap samples, the "
    "optimism is the mean gap between each refit's performance on its own sample and on "
    "all rows, and the corrected value is the apparent one minus it (Harrell, Lee & Mark, "
    "Stat Med 1996; 15:361). It estimates the same quantity as the cross-validated figures "
    "above by another resampling scheme, so the two differ by their sampling error."
)


def optimism_table(rows: Sequence[Mapping[str, Any]], caption: str) -> Markup:
    """Harrell's optimism correction of one model: apparent, optimism, corrected."""
    return table(
        ["metric", "apparent", "optimism", "corrected"],
        [
            [
                r["metric"],
                num(r.get("apparent")),
                num(r.get("optimism"), signed=True),
                num(r.get("corrected")),
            ]
            for r in rows
        ],
        caption=caption,
    )
