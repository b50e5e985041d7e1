"""One patient's entries: the form's fields (from the cohort contract) and their checking.

Every field of the calculator's form is a contract column, so its unit, bounds, allowed
categories and help text come from :data:`prom.cohort.contract.COHORT_CONTRACT` and PROM
items from the instrument declarations (:mod:`prom.instruments`) — nothing is restated
here but the on-screen label.

:func:`check_patient` turns the entries (column → value, ``None`` = not recorded) into a
:class:`Patient`: it validates them with :func:`prom.cohort.validate_cohort` (every
problem at once: out of range, not a whole number, unknown category, a required value
missing), adds the checks a single patient needs (region and diagnosis agree; a PROM given
either as a total or item by item, not both) and scores item-by-item PROMs with the
instrument itself. Any problem raises :class:`PatientInputError` holding all of them — a
message, never a prediction from a value the contract does not allow.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from prom.errors import PromError

__all__ = [
    "Field",
    "Problem",
    "PatientInputError",
    "Patient",
    "patient_fields",
    "item_fields",
    "option_label",
    "field_label",
    "check_patient",
    "ITEM_INSTRUMENTS",
    "PROM_TOTALS",
    "REGIONS",
]

REGIONS: tuple[str, ...] = ("lumbar", "cervical")

#: Instruments the form can take item by item (NRS are single ratings: always direct).
ITEM_INSTRUMENTS: tuple[str, ...] = ("odi", "comi", "mjoa")
#: Baseline PROM score columns of each region.
PROM_TOTALS: dict[str, tuple[str, ...]] = {
    "lumbar": ("odi_0m", "nrs_back_0m", "nrs_leg_0m", "comi_0m"),
    "cervical": ("mjoa_0m",),
}

# On-screen labels (the contract's descriptions become the help text).
_LABELS = {
    "region": "Spinal region",
    "diagnosis": "Primary diagnosis",
    "age_years": "Age",
    "sex": "Sex",
    "bmi_kg_m2": "Body-mass index",
    "smoking": "Smoking",
    "employment": "Employment",
    "symptom_duration_months": "Duration of current symptoms",
    "prior_spine_surgery": "Previous spine surgery",
    "opioid_use": "Regular opioid use",
    "diabetes": "Diabetes mellitus",
    "depression_anxiety": "Depression or anxiety disorder",
    "asa_grade": "ASA physical status",
    "index_level": "Index (symptomatic) disc level",
    "odi_0m": "ODI total",
    "nrs_back_0m": "Back pain, NRS",
    "nrs_leg_0m": "Leg pain, NRS",
    "comi_0m": "COMI total",
    "mjoa_0m": "mJOA total",
}
_PATIENT = ("region", "diagnosis", "age_years", "sex", "bmi_kg_m2", "smoking", "employment")
_HISTORY = (
    "symptom_duration_months",
    "prior_spine_surgery",
    "opioid_use",
    "diabetes",
    "depression_anxiety",
    "asa_grade",
)


@dataclass(frozen=True)
class Field:
    """One entry of the form, declared by its contract column."""

    name: str
    label: str
    kind: Literal["number", "choice", "yesno"]
    section: str
    help: str
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    integer: bool = False
    options: tuple[str, ...] = ()
    required: bool = False
    regions: tuple[str, ...] = REGIONS

    @property
    def label_with_unit(self) -> str:
        return f"{self.label} ({self.unit})" if self.unit else self.label


def _field_from_contract(
    name: str,
    section: str,
    regions=REGIONS,
    label: str | None = None,
    options: tuple[str, ...] | None = None,
) -> Field:
    from prom.cohort.contract import COHORT_CONTRACT

    spec = COHORT_CONTRACT[name]
    desc = spec.description[0].upper() + spec.description[1:]
    required = not spec.nullable
    help_text = f"{desc}. Allowed: {spec.expected()}." + (
        "" if required else " Leave empty if not recorded."
    )
    kind: Literal["number", "choice", "yesno"]
    if spec.dtype == "bool":
        kind = "yesno"
    elif spec.dtype == "category":
        kind = "choice"
    else:
        kind = "number"
    unit = spec.unit if spec.unit not in (None, "grade") else None
    return Field(
        name=name,
        label=label or _LABELS.get(name, desc),
        kind=kind,
        section=section,
        help=help_text,
        unit=unit,
        low=spec.low,
        high=spec.high,
        integer=spec.dtype == "int",
        options=options or spec.categories or (),
        required=required,
        regions=tuple(regions),
    )


@functools.cache
def patient_fields() -> tuple[Field, ...]:
    """Every field of the form except PROM items, in display order."""
    from prom.cohort.contract import CATEGORIES, IMAGING_FEATURES

    lumbar_dx = tuple(d for d in CATEGORIES["diagnosis"] if d != "cervical_myelopathy")
    out = []
    for name in _PATIENT:
        if name == "diagnosis":
            out.append(_field_from_contract(name, "patient", ("lumbar",), options=lumbar_dx))
        else:
            out.append(_field_from_contract(name, "patient"))
    out += [_field_from_contract(n, "history") for n in _HISTORY]
    out.append(_field_from_contract("index_level", "imaging", ("lumbar",)))
    for region, cols in PROM_TOTALS.items():
        out += [_field_from_contract(c, "proms", (region,)) for c in cols]
    for feature, *_ in IMAGING_FEATURES:
        col = f"img_index_{feature}"
        out.append(_field_from_contract(col, "imaging", ("lumbar",), label=_imaging_label(feature)))
    return tuple(out)


def _imaging_label(feature: str) -> str:
    from prom.cohort.contract import IMAGING_FEATURES

    desc = {f: d for f, *_, d in IMAGING_FEATURES}[feature]
    return desc[0].upper() + desc[1:]


@functools.cache
def item_fields(instrument: str) -> tuple[Field, ...]:
    """The baseline item fields of ``odi``, ``comi`` or ``mjoa`` (COMI's pain items are the
    NRS ratings, entered once as NRS back and leg pain)."""
    from prom.instruments import INSTRUMENTS

    if instrument not in ITEM_INSTRUMENTS:
        raise ValueError(
            f"instrument {instrument!r} has no item form here; expected one of "
            f"{', '.join(ITEM_INSTRUMENTS)}"
        )
    inst = INSTRUMENTS[instrument]
    region = "cervical" if instrument == "mjoa" else "lumbar"
    cols = inst.item_columns("0m")
    out = []
    for it in inst.items:
        if it.column is not None:  # COMI's pain items live in the NRS columns
            continue
        label = it.label[0].upper() + it.label[1:]
        out.append(
            Field(
                name=cols[it.name],
                label=label,
                kind="number",
                section="proms",
                help=f"{inst.name} item '{it.name}': {it.low:g}–{it.high:g}"
                f"{' (whole numbers)' if it.integer else ''}. "
                f"Missing-item rule: {inst.missing_rule}.",
                low=it.low,
                high=it.high,
                integer=it.integer,
                regions=(region,),
            )
        )
    return tuple(out)


def option_label(name: str, value: Any) -> str:
    """How a category value is shown: ``'l4_l5'`` → ``'L4/L5'``, ``'disc_herniation'`` →
    ``'disc herniation'``, ``'tfesi'`` → ``'TFESI'``."""
    if value is None:
        return "not recorded"
    value = str(value)
    if name == "index_level":
        return value.upper().replace("_", "/")
    if value == "tfesi":
        return "TFESI"
    return value.replace("_", " ")


# --- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One entry the contract does not allow, with the message to show next to it.

    ``kind``: ``"required"`` (a value the contract requires is missing) or ``"invalid"``
    (a value outside the contract, or entries that contradict each other)."""

    column: str
    value: Any
    message: str
    kind: str = "invalid"


class PatientInputError(PromError, ValueError):
    """The entries break the contract; ``problems`` lists every one of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(p.message for p in self.problems))

    @property
    def invalid(self) -> list[Problem]:
        """Entries outside the contract (as opposed to required entries not yet made)."""
        return [p for p in self.problems if p.kind != "required"]

    @property
    def required(self) -> list[Problem]:
        return [p for p in self.problems if p.kind == "required"]


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
        row = {}
        for c in columns:
            v = self.values.get(c)
            if v is None:
                row[c] = np.nan
            elif isinstance(v, (bool, np.bool_)):
                row[c] = float(v)
            else:
                row[c] = v
        return pd.DataFrame([row], columns=list(columns))


def _is_missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


@functools.cache
def _labels() -> dict[str, str]:
    labels = {f.name: f.label_with_unit for f in patient_fields()}
    for inst in ITEM_INSTRUMENTS:
        for f in item_fields(inst):
            item = f.name[len(inst) + 1 : -len("_0m")]
            labels[f.name] = f"{inst.upper()} item '{item}'"
    return labels


def _known_columns() -> set[str]:
    return set(_labels())


def field_label(column: str) -> str:
    """The label the calculator shows for a contract column (the column name otherwise)."""
    return _labels().get(column, column)


def check_patient(entries: Mapping[str, Any]) -> Patient:
    """Check one patient's entries against the contract (see the module docstring).

    ``entries`` maps contract columns to values (``None`` = not recorded). Item columns of
    ODI, COMI or mJOA (``odi_lifting_0m`` …) give that PROM item by item instead of its
    total. Raises :class:`PatientInputError` with every problem found.
    """
    from prom.cohort import validate_cohort

    if not isinstance(entries, Mapping):
        raise TypeError(
            f"entries must be a mapping of column → value, got {type(entries).__name__}"
        )
    unknown = sorted(set(entries) - _known_columns())
    if unknown:
        raise ValueError(
            f"entries name column(s) the calculator does not take: {', '.join(unknown)}"
        )
    values = {k: (None if _is_missing(v) else v) for k, v in entries.items()}
    problems: list[Problem] = []

    # the contract: ranges, whole numbers, categories, required values — all at once
    table = pd.DataFrame(
        [
            {
                "patient_id": "patient",
                "site": "calculator",
                **{k: (np.nan if v is None else v) for k, v in values.items()},
            }
        ]
    )
    for c in ("region", "age_years", "sex"):
        if c not in table.columns:
            table[c] = np.nan
    report = validate_cohort(table)
    for _, p in report.problems.iterrows():
        col = p["column"]
        seen = values.get(col)
        if p["check"] == "missing_value":
            problems.append(Problem(col, seen, f"{field_label(col)} is required", "required"))
            continue
        shown = (
            f"{seen:g}"
            if isinstance(seen, (int, float)) and not isinstance(seen, bool)
            else repr(seen)
        )
        problems.append(
            Problem(
                col, seen, f"{field_label(col)}: {shown} is not allowed; expected {p['expected']}"
            )
        )

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
                scored[key] = f"scored from {len(given)} of {len(cols) + _shared_items(key)} items"
            else:
                withheld[total] = reason
    if problems:
        raise PatientInputError(problems)
    return Patient(values=values, scored_from_items=scored, withheld=withheld)


def _shared_items(key: str) -> int:
    from prom.instruments import INSTRUMENTS

    return sum(1 for it in INSTRUMENTS[key].items if it.column is not None)


def _score_items(key: str, values: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """The instrument's own score of the entered items, or why it withholds one."""
    from prom.instruments import INSTRUMENTS

    inst = INSTRUMENTS[key]
    cols = inst.item_columns("0m")
    row = pd.DataFrame(
        [{c: (np.nan if values.get(c) is None else float(values[c])) for c in cols.values()}]
    )
    res = inst.score(row, timepoint="0m")
    score = res["score"].iloc[0]
    if np.isnan(score):
        return None, f"{inst.name} not scored: {res['reason'].iloc[0]}"
    return float(score), None


def example_entries(region: str, seed: int = 0) -> dict[str, Any]:
    """A *simulated* patient's baseline entries (:func:`prom.cohort.simulate_cohort`), for
    trying the calculator: the first patient of ``region`` with every baseline value
    present, PROM totals scored by the instruments, imaging read at the index level."""
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
            return out
    raise ValueError(f"no complete simulated {region} patient among 200 at seed {seed}")
