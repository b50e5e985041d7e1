"""One patient's entries checked into a :class:`Patient`.

:func:`check_patient` reads the entries (column → value, ``None`` or blank = not
recorded) at the edge with :func:`prom.calculator.entries.parse_entries` — every value
parsed once into its field's type and checked against the cohort contract (type, finite,
whole number, range, category, required), unknown keys refused by name — then adds the
checks a single patient needs (region and diagnosis agree; a PROM given either as a total
or item by item, not both) and scores item-by-item PROMs with the instrument itself. Any
problem raises :class:`PatientInputError` holding all of them — a message, never a
prediction from a value the contract does not allow, and never another exception for a
value: after :func:`check_patient` the values are typed and valid.

The form's fields and labels are in :mod:`prom.calculator.fields`; their names are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from prom.calculator.entries import PatientInputError, Problem, parse_entries
from prom.calculator.fields import (
    ITEM_INSTRUMENTS,
    PROM_TOTALS,
    REGIONS,
    Field,
    field_label,
    field_names,
    item_fields,
    option_label,
    patient_fields,
)

__all__ = [
    "Field",
    "Problem",
    "PatientInputError",
    "Patient",
    "patient_fields",
    "item_fields",
    "field_names",
    "option_label",
    "field_label",
    "check_patient",
    "score_from_items",
    "example_entries",
    "ITEM_INSTRUMENTS",
    "unread_entries",
    "PROM_TOTALS",
    "REGIONS",
]


@dataclass(frozen=True)
class Patient:
    """Checked entries of one patient.

    ``values``: column → value with PROM totals filled in from items where the items were
    entered (``None`` = not recorded); ``scored_from_items``: instrument → how its score
    was obtained; ``withheld``: score column → why it could not be scored from the items.
    """

    values: dict[str, Any]
    scored_from_items: dict[str, str] = field(default_factory=dict)
    withheld: dict[str, str] = field(default_factory=dict)

    @property
    def region(self) -> str:
        return self.values["region"]

    def frame(self, columns) -> pd.DataFrame:
        """One row with ``columns`` (missing ones NaN), typed as the models read them:
        numbers and yes/no as float, categories as text."""
        row = []
        for c in columns:
            v = self.values.get(c)
            if v is None:
                row.append(np.nan)
            elif isinstance(v, (bool, np.bool_)):
                row.append(float(v))
            else:
                row.append(v)
        # one record: each column's type inferred from its value, as from a dict of the row
        return pd.DataFrame.from_records([row], columns=list(columns))


def check_patient(entries: Mapping[str, Any]) -> Patient:
    """Check one patient's entries against the contract (see the module docstring).

    ``entries`` maps contract columns to values as a form or an API client sends them
    (``None``, NaN or blank text = not recorded; how each kind of value is read:
    :mod:`prom.calculator.entries`). Item columns of ODI, COMI or mJOA
    (``odi_lifting_0m`` …) give that PROM item by item instead of its total. Raises
    :class:`PatientInputError` with every problem found, and ``TypeError`` only when
    ``entries`` is not a mapping.
    """
    values, problems = parse_entries(entries)

    region = values.get("region")
    dx = values.get("diagnosis")
    if region == "cervical" and dx not in (None, "cervical_myelopathy"):
        problems.append(
            Problem(
                "diagnosis",
                dx,
                f"Primary diagnosis: {option_label('diagnosis', dx)} is a "
                "lumbar diagnosis; a cervical patient's is cervical myelopathy",
            )
        )
    if region == "lumbar" and dx == "cervical_myelopathy":
        problems.append(
            Problem(
                "diagnosis",
                dx,
                "Primary diagnosis: cervical myelopathy needs Spinal region = cervical",
            )
        )
    if region == "cervical":
        values["diagnosis"] = "cervical_myelopathy"

    scored: dict[str, str] = {}
    withheld: dict[str, str] = {}
    contract_ok = not problems
    for key in ITEM_INSTRUMENTS:
        cols = [f.name for f in item_fields(key)]
        given = [c for c in cols if values.get(c) is not None]
        total = f"{key}_0m"
        if not given:
            continue
        if values.get(total) is not None:
            problems.append(
                Problem(
                    total,
                    values[total],
                    f"{field_label(total)}: give either the total or the items, not "
                    f"both ({len(given)} item(s) entered)",
                )
            )
            continue
        if contract_ok:
            score, reason = _score_items(key, values)
            if reason is None:
                values[total] = score
                scored[key] = _scored_text(key, len(given))
            else:
                withheld[total] = reason
    if problems:
        raise PatientInputError(problems)
    return Patient(values=values, scored_from_items=scored, withheld=withheld)


def _shared_items(key: str) -> int:
    from prom.instruments import INSTRUMENTS

    return sum(1 for it in INSTRUMENTS[key].items if it.column is not None)


def _score_items(key: str, values: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """The instrument's own score of the entered items, or why it withholds one (the
    items not answered named by the form's labels)."""
    from prom.instruments import INSTRUMENTS

    inst = INSTRUMENTS[key]
    cols = inst.item_columns("0m")
    row = pd.DataFrame(
        [{c: (np.nan if values.get(c) is None else float(values[c])) for c in cols.values()}]
    )
    res = inst.score(row, timepoint="0m")
    score = res["score"].iloc[0]
    if not np.isnan(score):
        return float(score), None
    labels = {f.name: f.label for f in item_fields(key)}
    missing = [labels.get(c, field_label(c)) for c in cols.values() if values.get(c) is None]
    if not missing:
        return None, f"{inst.name} not scored: {res['reason'].iloc[0]}"
    return None, (
        f"{inst.name} not scored: {len(missing)} of {len(cols)} items not answered "
        f"({'; '.join(missing)}); rule: {inst.missing_rule}"
    )


def score_from_items(instrument: str, entries: Mapping[str, Any]) -> tuple[float | None, str]:
    """The score of ``instrument`` (``'odi'``, ``'comi'``, ``'mjoa'``) from the item
    entries in ``entries`` (read as :func:`check_patient` reads them; other keys
    ignored), and how it was obtained (``'scored from 9 of 10 items'``); or ``None`` and
    why it cannot be scored (an item outside its range, too many items missing). For a
    form that switches from item-by-item entry back to the total."""
    from prom.instruments import INSTRUMENTS

    if instrument not in ITEM_INSTRUMENTS:
        raise ValueError(
            f"instrument {instrument!r} has no items here; expected one of "
            f"{', '.join(ITEM_INSTRUMENTS)}"
        )
    columns = set(INSTRUMENTS[instrument].item_columns("0m").values())
    values, problems = parse_entries({c: v for c, v in entries.items() if c in columns})
    problems = [p for p in problems if p.kind != "required"]
    if problems:
        return None, "; ".join(p.message for p in problems)
    score, reason = _score_items(instrument, values)
    if score is None:
        return None, str(reason)
    given = sum(1 for f in item_fields(instrument) if values.get(f.name) is not None)
    return score, _scored_text(instrument, given)


def _scored_text(key: str, given: int) -> str:
    """``'scored from 9 of 10 items'``."""
    return f"scored from {given} of {len(item_fields(key)) + _shared_items(key)} items"


def example_entries(region: str, seed: int = 0, items: bool = False) -> dict[str, Any]:
    """A *simulated* patient's baseline entries (:func:`prom.cohort.simulate_cohort`), for
    trying the calculator: the first patient of ``region`` with every baseline value
    present, PROM totals scored by the instruments, imaging read at the index level.

    ``items=True`` gives the same patient's ODI, COMI and mJOA item by item (the
    simulated answers) instead of their totals, as a questionnaire form sends them."""
    from prom.cohort import simulate_cohort
    from prom.instruments import add_scores

    if region not in REGIONS:
        raise ValueError(f"region={region!r}; expected one of {', '.join(REGIONS)}")
    df = add_scores(simulate_cohort(200, seed=seed))
    fields = [f for f in patient_fields() if region in f.regions]
    for _, row in df[df["region"] == region].iterrows():
        out: dict[str, Any] = {}
        for f in fields:
            col = f.name
            if col.startswith("img_index_"):
                level = row["index_level"]
                v = (
                    row.get(f"img_{level}_{col[len('img_index_') :]}")
                    if isinstance(level, str)
                    else None
                )
            else:
                v = row.get(col)
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                out = {}
                break
            if f.kind == "yesno":
                v = bool(v)
            elif f.kind == "number":
                v = int(v) if f.integer else float(round(float(v), 4))
            else:
                v = str(v)
            out[col] = v
        if out:
            return _with_items(out, row) if items else out
    raise ValueError(f"no complete simulated {region} patient among 200 at seed {seed}")


def _with_items(entries: dict[str, Any], row: pd.Series) -> dict[str, Any]:
    """``entries`` with each item-by-item PROM's total replaced by the row's items."""
    out = dict(entries)
    for key in ITEM_INSTRUMENTS:
        total = f"{key}_0m"
        if total not in out:
            continue
        del out[total]
        for f in item_fields(key):
            v = row.get(f.name)
            out[f.name] = None if v is None or pd.isna(v) else int(v)
    return out


def unread_entries(patient: Patient, read: set[str]) -> str:
    """The entries of ``patient`` that no model reads (``read``: the predictors of the
    tasks predicting for the patient; the region, PROM items — read through their total —
    and the diagnosis the cervical form sets are read), as labels; '' when none."""
    also = {"region", *(f.name for i in ITEM_INSTRUMENTS for f in item_fields(i))}
    if patient.region == "cervical":
        also.add("diagnosis")
    unread = [c for c, v in patient.values.items() if v is not None and c not in read | also]
    return ", ".join(field_label(c) for c in unread)
