"""PROM instruments: declarations over one shared base, scored a DataFrame at a time.

>>> import pandas as pd
>>> from prom.instruments import ODI
>>> form = pd.DataFrame({f"odi_{name}_0m": [2] for name in ODI().item_names})
>>> ODI().score(form, timepoint="0m")["score"].tolist()
[40.0]

Use :func:`score_table` to score every instrument at every time point present in a
cohort table, or an instrument's ``score`` for one.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from prom.instruments.base import Band, Instrument, Item
from prom.instruments.comi import COMI
from prom.instruments.mjoa import MJOA
from prom.instruments.nrs import NRSBack, NRSLeg
from prom.instruments.odi import ODI
from prom.naming import TIMEPOINTS

__all__ = [
    "Band",
    "Instrument",
    "Item",
    "ODI",
    "NRSBack",
    "NRSLeg",
    "COMI",
    "MJOA",
    "INSTRUMENTS",
    "get_instrument",
    "score_table",
    "add_scores",
    "SCORED_ATTR",
    "OUTPUTS_ATTR",
    "score_names",
    "unscored_time_columns",
    "instrument_times",
]

#: The ``DataFrame.attrs`` key under which :func:`add_scores` (and ``prom fit``'s scoring
#: step) records the score columns it computed from item answers, so that a fit can say
#: so truthfully (:mod:`prom.cohort.provenance`).
SCORED_ATTR = "prom_scored_from_items"

#: The ``DataFrame.attrs`` key under which :func:`add_scores` records every column it
#: wrote (scores, reasons, bands, versions): columns computed from the table's own, which
#: a row's emptiness is not judged by.
OUTPUTS_ATTR = "prom_score_outputs"

#: Instruments with their default settings, by key.
INSTRUMENTS: dict[str, Instrument] = {
    inst.key: inst for inst in (ODI(), NRSBack(), NRSLeg(), COMI(), MJOA())
}


def get_instrument(key: str, **params) -> Instrument:
    """An instrument by key (``'odi'``, ``'nrs_back'``, ``'nrs_leg'``, ``'comi'``, ``'mjoa'``)."""
    try:
        cls = type(INSTRUMENTS[key])
    except KeyError:
        raise ValueError(
            f"unknown instrument {key!r}; expected one of {', '.join(INSTRUMENTS)}"
        ) from None
    return cls(**params)


def score_table(
    data: pd.DataFrame,
    instruments: Iterable[Instrument] | None = None,
    timepoints: Iterable[str] = TIMEPOINTS,
) -> pd.DataFrame:
    """Score every instrument at every time point whose item columns are in ``data``.

    An instrument/time point is scored when all of its item columns are present, and
    skipped when none is; some but not all present is an error (a half-mapped form).

    Returns new columns only, on ``data``'s index: ``<key>_<tp>`` (score),
    ``<key>_<tp>_reason`` (why a score was withheld), ``<key>_<tp>_band`` where the
    instrument has bands, and one ``<key>_version`` per instrument scored.
    """
    from prom.errors import MissingColumnError

    insts = list(INSTRUMENTS.values()) if instruments is None else list(instruments)
    out: dict[str, pd.Series] = {}
    for inst in insts:
        scored_any = False
        for tp in timepoints:
            cols = inst.item_columns(tp)
            # Columns the instrument owns decide whether it was collected: COMI borrows
            # its pain items from the NRS columns, which alone do not make a COMI form.
            own = [cols[it.name] for it in inst.items if it.column is None] or list(cols.values())
            if not any(c in data.columns for c in own):
                continue
            present = [c for c in cols.values() if c in data.columns]
            if len(present) < len(cols):
                absent = [c for c in cols.values() if c not in data.columns]
                raise MissingColumnError(
                    f"{inst.name} at {tp}: the table has {len(present)} of {len(cols)} item "
                    f"columns; missing {', '.join(absent)}"
                )
            res = inst.score(data, timepoint=tp)
            name = inst.score_column(tp)
            out[name] = res["score"]
            out[f"{name}_reason"] = res["reason"]
            if "band" in res:
                out[f"{name}_band"] = res["band"]
            scored_any = True
        if scored_any:
            out[f"{inst.key}_version"] = pd.Series(inst.version, index=data.index, dtype="object")
    return pd.DataFrame(out, index=data.index)


def instrument_times(columns: Iterable[str], inst: Instrument) -> dict[str, list[str]]:
    """The item and score columns of instrument ``inst`` among ``columns``, by the time
    point their names carry (``"6m"``: ``odi_walking_6m``, ``odi_6m``), any time point."""
    import re

    names = "|".join(re.escape(n) for n in inst.item_names)
    form = re.compile(rf"{re.escape(inst.key)}(?:_(?:{names}))?_(\d+m)")
    found: dict[str, list[str]] = {}
    for c in columns:
        if m := form.fullmatch(str(c)):
            found.setdefault(m.group(1), []).append(str(c))
    return found


def unscored_time_columns(columns: Iterable[str]) -> dict[str, list[str]]:
    """Item or score columns of an instrument at a time point the toolkit does not score
    (``odi_walking_6m``, ``nrs_back_24m``), by time point: left as they are, and worth
    saying so (the time points scored are :data:`prom.naming.TIMEPOINTS`)."""
    found: dict[str, list[str]] = {}
    for inst in INSTRUMENTS.values():
        for tp, cols in instrument_times(columns, inst).items():
            if tp not in TIMEPOINTS:
                found.setdefault(tp, []).extend(cols)
    return found


def score_names(columns: Iterable[str]) -> list[str]:
    """The score columns among :func:`score_table`'s columns (not ``_reason``, ``_band``
    or ``_version``)."""
    return [c for c in columns if not str(c).endswith(("_reason", "_band", "_version"))]


def add_scores(data: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """A copy of ``data`` with the columns of :func:`score_table` added (or replaced);
    the copy's ``attrs[SCORED_ATTR]`` lists the score columns computed from item answers,
    ``attrs[OUTPUTS_ATTR]`` every column written."""
    scores = score_table(data, **kwargs)
    result = data.copy()
    for c in scores.columns:
        result[c] = scores[c]
    done = set(result.attrs.get(SCORED_ATTR, ())) | set(score_names(scores.columns))
    result.attrs[SCORED_ATTR] = sorted(done)
    written = set(result.attrs.get(OUTPUTS_ATTR, ())) | set(scores.columns)
    result.attrs[OUTPUTS_ATTR] = sorted(written)
    return result
