"""What a fit did to get its rows, predictors and label: the manifest's ``provenance``.

A report and a model card may state only what the run did. What the run did to the
table before fitting — was it checked against the cohort data contract, were PROM scores
computed from item answers, were columns mapped or derived — and how the task and its
predictors were chosen is not visible in the models, so the fit records it here
(:func:`prom.workflows.provenance.fit_provenance`) and the report writes its sentences
from it (:mod:`prom.report.provenance`). Which rows were excluded and why
(``row_accounting``), which predictors were left out and why (``excluded_predictors``)
and the label's definition (``definition``) are already fields of the task entry.

Layout (every key optional except ``task_source`` and ``predictors``; an absent fact was
not recorded, which the report says rather than guessing)::

    task_source: "registry" | "user"
    predictors:  "named" | "registry" | "contract"
    contract:    {"checked": false} | {"checked": true, "errors": n, "warnings": m,
                                         "mode": "strict", "contract": "cohort v1"}
    mapping:     the mapping file's name, or "" for none
    scored_from_items: [score columns of this task computed from item answers]
    derived:     [predictors derived in this run, e.g. img_index_* from index_level]

A bundle written before this field existed has no ``provenance``; its entry's
``provenance`` is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prom.bundle.manifest.reader import BundleError, FieldReader

__all__ = ["TASK_SOURCES", "PREDICTOR_CHOICES", "ContractCheck", "FitProvenance"]

#: Where a task comes from: the toolkit's task registry, or the user's own outcome.
TASK_SOURCES = ("registry", "user")
#: How the predictors were chosen: named by the user (``--predictors``), the registry's
#: candidates present in the table, or the table's columns the cohort contract declares
#: as predictors (a user's outcome without ``--predictors``).
PREDICTOR_CHOICES = ("named", "registry", "contract")


@dataclass(frozen=True)
class ContractCheck:
    """Whether the table was checked against the cohort data contract, and the outcome."""

    checked: bool
    errors: int | None = None
    warnings: int | None = None
    mode: str | None = None
    contract: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"checked": self.checked}
        for k in ("errors", "warnings", "mode", "contract"):
            v = getattr(self, k)
            if v is not None:
                d[k] = v
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str) -> ContractCheck:
        r = FieldReader(d, where)
        checked = r.req("checked")
        if not isinstance(checked, bool):
            raise BundleError(f"{where}: field 'checked' must be true or false; found {checked!r}")
        out = cls(
            checked=checked,
            errors=r.integer("errors", required=False),
            warnings=r.integer("warnings", required=False),
            mode=r.text("mode", required=False),
            contract=r.text("contract", required=False),
        )
        r.done()
        return out


@dataclass(frozen=True)
class FitProvenance:
    """How a task's fit got its rows, predictors and label (see the module docstring).
    ``None`` in a field means the run did not record it."""

    task_source: str
    predictors: str
    contract: ContractCheck | None = None
    mapping: str | None = None
    scored_from_items: tuple[str, ...] | None = None
    derived: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.task_source not in TASK_SOURCES:
            raise ValueError(f"task_source {self.task_source!r}; expected one of {TASK_SOURCES}")
        if self.predictors not in PREDICTOR_CHOICES:
            raise ValueError(f"predictors {self.predictors!r}; expected one of {PREDICTOR_CHOICES}")

    @property
    def is_custom(self) -> bool:
        """The task's outcome is the user's own (not a task of the registry)."""
        return self.task_source == "user"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"task_source": self.task_source, "predictors": self.predictors}
        if self.contract is not None:
            d["contract"] = self.contract.to_dict()
        if self.mapping is not None:
            d["mapping"] = self.mapping
        if self.scored_from_items is not None:
            d["scored_from_items"] = list(self.scored_from_items)
        if self.derived:
            d["derived"] = list(self.derived)
        return d

    @classmethod
    def from_dict(cls, d: Any, where: str) -> FitProvenance:
        """Read the field back; :class:`BundleError` naming what is wrong."""
        where = f"{where}: provenance"
        r = FieldReader(d, where)
        contract = r.opt("contract")
        scored = r.opt("scored_from_items")
        derived = r.opt("derived")
        for name, v in (("scored_from_items", scored), ("derived", derived)):
            if v is not None and (
                not isinstance(v, list) or not all(isinstance(x, str) for x in v)
            ):
                raise BundleError(f"{where}: field {name!r} must be a list of column names")
        try:
            out = cls(
                task_source=r.text("task_source"),
                predictors=r.text("predictors"),
                contract=None
                if contract is None
                else ContractCheck.from_dict(contract, f"{where}.contract"),
                mapping=r.text("mapping", required=False),
                scored_from_items=None if scored is None else tuple(scored),
                derived=tuple(derived or ()),
            )
        except ValueError as e:
            if isinstance(e, BundleError):
                raise
            raise BundleError(f"{where}: {e}") from None
        r.done()
        return out


def provenance_from_manifest(v: Mapping[str, Any] | None, where: str) -> FitProvenance | None:
    """The entry's ``provenance`` field (absent: None, a bundle from before the field)."""
    return None if v is None else FitProvenance.from_dict(v, where)
