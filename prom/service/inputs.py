"""One request's patient: calculator entries, FHIR resources, or both, merged into entries.

The shape a client sends (the same in Python and over HTTP)::

    {"entries": {"region": "lumbar", "diagnosis": "lumbar_disc_herniation", ...},
     "fhir": {"resourceType": "Bundle", ...}}        # or a QuestionnaireResponse

``fhir`` is read by :func:`prom.fhir.entries_from_fhir` into item columns, ``age_years``
and ``sex``; ``entries`` gives everything FHIR does not carry (region, diagnosis, history,
imaging, PROM totals). A column given in both is refused (a problem naming the column and
the FHIR path it came from) rather than one silently winning. The merged entries are then
checked by :func:`prom.calculator.check_patient` — the calculator's own edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from prom.calculator.entries import PatientInputError, Problem

__all__ = ["MergedEntries", "merge_entries"]


@dataclass(frozen=True)
class MergedEntries:
    """The calculator entries of one request and what reading the FHIR input noted."""

    entries: dict[str, Any]
    fhir_notes: tuple[str, ...] = ()
    from_fhir: tuple[str, ...] = ()


def merge_entries(
    entries: Mapping[str, Any] | None, fhir: Any = None, *, base: str | None = None
) -> MergedEntries:
    """``entries`` merged with the entries read from ``fhir`` (see the module docstring).

    Raises :class:`prom.fhir.FhirInputError` for a FHIR resource that cannot be read and
    :class:`prom.calculator.PatientInputError` for a column given twice; ``TypeError``
    when ``entries`` is not a mapping.
    """
    given = dict(entries or {})
    if entries is not None and not isinstance(entries, Mapping):
        raise TypeError(f"entries must be a mapping of column to value, got {type(entries)}")
    if fhir is None:
        return MergedEntries(given)
    from prom.fhir import FHIR_BASE, entries_from_fhir

    read = entries_from_fhir(fhir, base=base or FHIR_BASE)
    twice = [c for c in read.entries if given.get(c) is not None]
    if twice:
        raise PatientInputError(
            [
                Problem(
                    c,
                    given[c],
                    f"{c} is given in entries and by the FHIR input "
                    f"({read.provenance.get(c, 'FHIR')}); give it once",
                )
                for c in twice
            ]
        )
    merged = {**given, **read.entries}
    return MergedEntries(merged, tuple(read.notes), tuple(read.entries))
