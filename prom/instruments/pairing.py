"""Two score Series of the same patients, paired by their labels: pandas pairs values by
index label, and so do the MCID functions (:func:`prom.instruments.mcid.mcid_attained`,
``improvement``); pairing by position would give one patient's follow-up to another."""

from __future__ import annotations

import pandas as pd

__all__ = ["paired_follow_up"]


def paired_follow_up(baseline, follow_up):
    """``follow_up`` in ``baseline``'s row order when both are Series whose indexes hold the
    same patients in another order (pandas pairs by label, so does this); a ``ValueError``
    when two Series' indexes differ otherwise: pairing them by position would give one
    patient's follow-up to another."""
    if not (isinstance(baseline, pd.Series) and isinstance(follow_up, pd.Series)):
        return follow_up
    if baseline.index.equals(follow_up.index):
        return follow_up
    same = (
        baseline.index.is_unique
        and follow_up.index.is_unique
        and len(baseline) == len(follow_up)
        and baseline.index.isin(follow_up.index).all()
    )
    if same:
        return follow_up.reindex(baseline.index)
    raise ValueError(
        "baseline and follow_up are Series with different indexes (not the same rows in "
        "another order); give them one index (pair the rows first), or pass arrays to pair "
        "them by position"
    )
