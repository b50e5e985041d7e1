"""The calculator's form: its fields, declared by the cohort contract, and their labels.

Every field is a contract column, so its unit, bounds, allowed categories and help text
come from :data:`prom.cohort.contract.COHORT_CONTRACT` and PROM items from the instrument
declarations (:mod:`prom.instruments`) — nothing is restated here but the on-screen label.
:func:`field_names` lists every column the calculator takes; anything else is refused by
:func:`prom.calculator.entries.parse_entries`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "Field",
    "patient_fields",
    "item_fields",
    "field_names",
    "option_label",
    "field_label",
    "instrument_name",
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


@functools.cache
def _labels() -> dict[str, str]:
    labels = {f.name: f.label_with_unit for f in patient_fields()}
    for inst in ITEM_INSTRUMENTS:
        for f in item_fields(inst):
            item = f.name[len(inst) + 1 : -len("_0m")]
            labels[f.name] = f"{instrument_name(inst)} item '{item}'"
    return labels


def instrument_name(instrument: str) -> str:
    """How an instrument is named on screen: ``'odi'`` → ``'ODI'``, ``'mjoa'`` →
    ``'mJOA'`` (the instrument's own name)."""
    from prom.instruments import INSTRUMENTS

    return str(INSTRUMENTS[instrument].name)


def field_names() -> tuple[str, ...]:
    """Every column the calculator takes, in display order: :func:`patient_fields`, then
    the items of :func:`item_fields` for ODI, COMI and mJOA."""
    return tuple(_labels())


def field_label(column: str) -> str:
    """The label the calculator shows for a contract column (the column name otherwise)."""
    return _labels().get(column, column)
