"""FHIR input in, the calculator's entries out: :func:`entries_from_fhir`.

The input is a ``QuestionnaireResponse`` or a ``Bundle`` of QuestionnaireResponses and at
most one ``Patient``, as a dict or as JSON text. It is untrusted until checked, here, once:

1. JSON text is parsed (``NaN``/``Infinity`` refused: they are not JSON);
2. the resource is validated with the FHIR models of ``fhir.resources``, its
   ``fhir.resources.R4B`` package: the models it maintains for R4-compatible content
   (R4B is a revision of R4 whose changes concern other resources; the elements read
   here — of QuestionnaireResponse, Patient and Bundle — are used as R4 defines them);
3. each response is read by :func:`prom.fhir.responses.read_response` (status,
   questionnaire, linkIds, answers and their ranges);
4. the Patient gives ``sex`` (``Patient.gender`` ``female``/``male``, the cohort
   contract's values; ``other`` and ``unknown`` are refused because the models know only
   those two) and ``age_years``: whole days from ``Patient.birthDate`` (a full date) to
   the earliest ``authored`` date of the responses, divided by 365.25 and rounded to two
   decimals (the contract's age is in years with decimals; 0.01 year is under four days).

Every problem of every resource is collected and raised once as
:class:`~prom.fhir.problems.FhirInputError`. The result, :class:`FhirEntries`, holds the
calculator's entries (item columns at baseline ``0m``, ``age_years``, ``sex``) and where
each value came from; scoring is then the toolkit's own
(:func:`prom.calculator.check_patient`), with the instruments' missing-item rules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prom.cohort.contract import CATEGORIES, COHORT_CONTRACT
from prom.fhir.problems import FhirInputError, FhirProblem
from prom.fhir.questionnaires import FHIR_BASE
from prom.fhir.responses import ResponseRead, read_response

__all__ = ["FhirEntries", "entries_from_fhir", "age_at", "fhir_columns", "patient_reference"]

_READ_TYPES = ("QuestionnaireResponse", "Patient")


@dataclass(frozen=True)
class FhirEntries:
    """The calculator's entries read from FHIR resources.

    ``entries``: column → value (item columns at ``0m``, ``age_years``, ``sex``), ready
    for :func:`prom.calculator.check_patient`; ``provenance``: column → the resource and
    JSON path the value came from (no values); ``notes``: what was read as a default or
    not recorded; ``questionnaires``: instrument key → the resource that answered it.
    """

    entries: dict[str, Any]
    provenance: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    questionnaires: dict[str, str] = field(default_factory=dict)


def fhir_columns() -> tuple[str, ...]:
    """The calculator columns FHIR input can give: every instrument's baseline item
    columns, ``age_years`` and ``sex`` (PROM totals are not: a response carries items)."""
    from prom.instruments import INSTRUMENTS

    cols: list[str] = []
    for inst in INSTRUMENTS.values():
        cols += [c for c in inst.item_columns("0m").values() if c not in cols]
    return (*cols, "age_years", "sex")


def age_at(birth: date, on: date) -> float:
    """Age in years on ``on``: whole days since ``birth`` / 365.25, rounded to 2 decimals."""
    return round((on - birth).days / 365.25, 2)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _load(resource: Any) -> dict[str, Any]:
    if isinstance(resource, (bytes, bytearray)):
        try:
            resource = resource.decode("utf-8")
        except UnicodeDecodeError as e:
            raise FhirInputError(
                [
                    FhirProblem(
                        "(JSON text)", "(document)", None, "UTF-8 JSON", f"not UTF-8: {e.reason}"
                    )
                ]
            ) from None
    if isinstance(resource, str):
        try:
            resource = json.loads(resource, parse_constant=_no_constant)
        except (ValueError, RecursionError) as e:
            where = (
                f"line {e.lineno} column {e.colno}: {e.msg}"
                if isinstance(e, json.JSONDecodeError)
                else str(e)[:80]
            )
            raise FhirInputError(
                [
                    FhirProblem(
                        "(JSON text)",
                        "(document)",
                        None,
                        "a FHIR resource as JSON",
                        f"not JSON ({where})",
                    )
                ]
            ) from None
        if not isinstance(resource, dict):
            raise FhirInputError(
                [
                    FhirProblem(
                        "(JSON text)",
                        "(document)",
                        type(resource).__name__,
                        "a JSON object (a FHIR resource)",
                    )
                ]
            )
        return resource
    if not isinstance(resource, dict):
        raise TypeError(
            f"expected a FHIR resource as a dict or JSON text, got {type(resource).__name__}"
        )
    return resource


def _label(raw: Any, position: str) -> str:
    """``QuestionnaireResponse/odi-1 (Bundle.entry[1])`` for messages."""
    kind = raw.get("resourceType", "resource") if isinstance(raw, dict) else "resource"
    rid = raw.get("id") if isinstance(raw, dict) else None
    name = f"{kind}/{rid}" if isinstance(rid, str) and rid else str(kind)
    return f"{name} ({position})" if position else name


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _validate(raw: dict[str, Any]) -> list[FhirProblem]:
    """The FHIR models' verdict on ``raw``: one problem per validation error."""
    try:
        from fhir.resources.R4B.bundle import Bundle
        from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
        from pydantic import ValidationError
    except ImportError as e:
        raise ImportError(
            "reading FHIR resources needs fhir.resources: pip install 'spine-prom[fhir]'"
        ) from e

    kind = raw.get("resourceType")
    models: dict[str, Any] = {"Bundle": Bundle, "QuestionnaireResponse": QuestionnaireResponse}
    if kind not in models:
        return [
            FhirProblem(
                _label(raw, ""),
                "resourceType",
                kind,
                "QuestionnaireResponse, or a Bundle of QuestionnaireResponses and a Patient",
            )
        ]
    try:
        models[str(kind)].model_validate(raw)
    except ValidationError as e:
        problems = []
        for err in e.errors():
            loc = tuple(err["loc"])
            resource, path = _label(raw, ""), f"{kind}{_path(loc)}"
            if kind == "Bundle" and len(loc) >= 3 and loc[0] == "entry" and loc[2] == "resource":
                inner = _inner(raw, loc[1])
                resource = _label(inner, f"Bundle.entry[{loc[1]}]")
                inner_kind = (
                    inner.get("resourceType", "resource") if isinstance(inner, dict) else "resource"
                )
                path = f"{inner_kind}{_path(loc[3:])}"
            value = err.get("input") if err["type"] != "missing" else None
            problems.append(FhirProblem(resource, path, value, "valid FHIR R4", err["msg"]))
        return problems
    except (TypeError, ValueError, RecursionError) as e:  # a model refusing outside pydantic
        return [FhirProblem(_label(raw, ""), str(kind), None, "valid FHIR R4", str(e)[:200])]
    return []


def _inner(raw: dict[str, Any], index: Any) -> Any:
    try:
        return raw["entry"][index]["resource"]
    except (KeyError, IndexError, TypeError):
        return None


_Found = list[tuple[str, dict[str, Any], str | None]]


def _resources(raw: dict[str, Any]) -> tuple[_Found, _Found, list[FhirProblem]]:
    """``(responses, patients, problems)``: each as ``(label, resource, fullUrl)``."""
    if raw.get("resourceType") == "QuestionnaireResponse":
        return [(_label(raw, ""), raw, None)], [], []
    responses: _Found = []
    patients: _Found = []
    problems: list[FhirProblem] = []
    for i, entry in enumerate(raw.get("entry") or []):
        res = entry.get("resource")
        where = f"Bundle.entry[{i}]"
        if not isinstance(res, dict):
            problems.append(FhirProblem(_label(raw, ""), f"{where}.resource", None, "a resource"))
            continue
        kind = res.get("resourceType")
        full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
        mode = (entry.get("search") or {}).get("mode")
        if kind == "QuestionnaireResponse":
            responses.append((_label(res, where), res, full_url))
        elif kind == "Patient":
            if mode == "include" and patients and _same_patient(patients[0][1], res):
                continue  # a search included the patient again: read once
            patients.append((_label(res, where), res, full_url))
        elif kind == "OperationOutcome" and mode == "outcome":
            problems += _search_outcome(_label(res, where), res)
        else:
            problems.append(
                FhirProblem(
                    _label(res, where),
                    f"{kind}.resourceType",
                    kind,
                    f"one of {', '.join(_READ_TYPES)}",
                    "a resource the toolkit does not read (refused, not skipped)",
                )
            )
    if not responses:
        problems.append(
            FhirProblem(_label(raw, ""), "Bundle.entry", None, "at least one QuestionnaireResponse")
        )
    if len(patients) > 1:
        for label, _, _ in patients[1:]:
            problems.append(
                FhirProblem(
                    label,
                    "Patient.resourceType",
                    "Patient",
                    "at most one Patient per Bundle",
                    f"the Bundle already has {patients[0][0]}",
                )
            )
    return responses, patients, problems


def _combine(reads: list[ResponseRead]) -> tuple[dict[str, Any], dict[str, str], list[FhirProblem]]:
    """Answers of all responses by column; one instrument answered twice, or one column
    (COMI's pain items are the NRS ratings) given two different values, is a problem."""
    from prom.instruments import INSTRUMENTS

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    problems: list[FhirProblem] = []
    by_key: dict[str, str] = {}
    for read in reads:
        if read.key is None:
            continue
        if read.key in by_key:
            problems.append(
                FhirProblem(
                    read.resource,
                    "QuestionnaireResponse.questionnaire",
                    INSTRUMENTS[read.key].name,
                    "one response per questionnaire",
                    f"{by_key[read.key]} answers it too",
                )
            )
            continue
        by_key[read.key] = read.resource
        for column, value in read.answers.items():
            if column in values and values[column] != value:
                problems.append(
                    FhirProblem(
                        read.resource,
                        sources[column].split(": ", 1)[-1].split(" (")[0],
                        value,
                        f"the same value as {sources[column]}",
                        f"two responses give {column} different values ({values[column]!r})",
                    )
                )
                continue
            if column in values:
                sources[column] += f"; also {read.sources[column]}"
                continue
            values[column] = value
            sources[column] = read.sources[column]
    return values, sources, problems


def _same_patient(first: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether ``other`` is ``first`` again: the same id, and the same resource apart
    from its metadata (a search includes the subject it matched)."""
    pid = first.get("id")
    if not isinstance(pid, str) or other.get("id") != pid:
        return False
    drop = ("meta", "text")
    return {k: v for k, v in first.items() if k not in drop} == {
        k: v for k, v in other.items() if k not in drop
    }


def _search_outcome(label: str, outcome: dict[str, Any]) -> list[FhirProblem]:
    """A search's own OperationOutcome (``search.mode`` ``outcome``): its information
    and warnings are not the patient's data and are passed over; an error or fatal issue
    means the search may have returned only part of the patient's responses."""
    issues = [i for i in outcome.get("issue") or () if isinstance(i, dict)]
    failed = [i for i in issues if i.get("severity") in ("error", "fatal")]
    return [
        FhirProblem(
            label,
            "OperationOutcome.issue.severity",
            i.get("severity"),
            "information or warning",
            "the search that found the responses reported a failure "
            f"({i.get('code', 'no code')}): they may be incomplete",
        )
        for i in failed
    ]


_PATIENT_REF = re.compile(r"(?:(?P<base>https?://\S+?)/)?Patient/(?P<id>[A-Za-z0-9.\-]{1,64})")


def patient_reference(reference: str) -> tuple[str | None, str] | None:
    """``(base, id)`` of a literal Patient reference (relative ``Patient/p1``, absolute
    ``https://ehr.example/fhir/Patient/p1``, either with ``/_history/<version>``), or
    ``None`` for any other reference."""
    m = _PATIENT_REF.fullmatch(reference.split("/_history/", 1)[0])
    return (m["base"], m["id"]) if m else None


def _subject_problem(reference: str, patient: dict[str, Any], full_url: str | None) -> str | None:
    """Why a response's subject ``reference`` cannot be shown to be the Bundle's Patient
    (``None`` when it is): the reference is the Patient's fullUrl, or names a Patient
    with its id — and, when both are absolute URLs, on the same server."""
    if full_url and reference == full_url:
        return None
    pid = patient.get("id")
    own = patient_reference(full_url) if full_url else None
    if not isinstance(pid, str):
        pid = own[1] if own else None
    if pid is None:
        return (
            "the Bundle's Patient has no id and no fullUrl, so the response's subject "
            "cannot be matched to it"
        )
    ref = patient_reference(reference)
    if ref is None or ref[1] != pid:
        return "the response is about another patient"
    if ref[0] and own and own[0] and ref[0] != own[0]:
        return f"the response's subject is a patient of another server than {full_url}"
    return None


def _patient(
    label: str,
    patient: dict[str, Any],
    full_url: str | None,
    reads: list[ResponseRead],
    entries: dict[str, Any],
    provenance: dict[str, str],
) -> list[FhirProblem]:
    """``sex`` and ``age_years`` from the Patient into ``entries`` (see the module
    docstring), or the problems."""
    problems = [
        FhirProblem(
            read.resource,
            "QuestionnaireResponse.subject.reference",
            read.subject,
            f"a reference to {label}",
            why,
        )
        for read in reads
        if read.subject is not None
        and (why := _subject_problem(read.subject, patient, full_url)) is not None
    ]
    sexes = CATEGORIES["sex"]
    gender = patient.get("gender")
    if gender in sexes:
        entries["sex"] = gender
        provenance["sex"] = f"{label}: Patient.gender"
    elif gender is not None:
        problems.append(
            FhirProblem(
                label,
                "Patient.gender",
                gender,
                " or ".join(sexes),
                "the models know only the cohort contract's sex values",
            )
        )
    birth = patient.get("birthDate")
    if birth is None:
        return problems
    try:
        born = date.fromisoformat(birth) if isinstance(birth, str) and len(birth) == 10 else None
    except ValueError:
        born = None
    if born is None:
        problems.append(
            FhirProblem(
                label,
                "Patient.birthDate",
                birth,
                "a full date YYYY-MM-DD, to compute age",
                "a partial date gives no age to the precision the models use",
            )
        )
        return problems
    dated = [r for r in reads if r.authored is not None]
    if not dated:
        problems += [r.authored_problem for r in reads if r.authored_problem is not None]
        return problems
    first = min(dated, key=lambda r: r.authored or date.max)
    on = first.authored or date.max
    spec = COHORT_CONTRACT["age_years"]
    age = age_at(born, on)
    low = 0.0 if spec.low is None else spec.low
    high = 200.0 if spec.high is None else spec.high
    if on < born or not low <= age <= high:
        problems.append(
            FhirProblem(
                label,
                "Patient.birthDate",
                birth,
                f"a birth date giving an age of {low:g}–{high:g} years on the authored date "
                f"of {first.resource}",
            )
        )
        return problems
    entries["age_years"] = age
    provenance["age_years"] = (
        f"{label}: Patient.birthDate, age on QuestionnaireResponse.authored of "
        f"{first.resource} (whole days / 365.25, 2 decimals)"
    )
    return problems


def entries_from_fhir(resource: Any, base: str = FHIR_BASE) -> FhirEntries:
    """The calculator's entries from a QuestionnaireResponse or a Bundle (dict or JSON).

    ``base`` is the canonical base of the Questionnaires the responses answer
    (:data:`prom.fhir.FHIR_BASE` unless a deployment publishes its own). Raises
    :class:`~prom.fhir.problems.FhirInputError` with every problem found (see the module
    docstring), and ``TypeError`` only when ``resource`` is neither a dict nor JSON text.
    """
    raw = _load(resource)
    problems = _validate(raw)
    if problems:
        raise FhirInputError(problems)
    responses, patients, problems = _resources(raw)
    reads = [read_response(res, label, base) for label, res, _ in responses]
    for read in reads:
        problems += read.problems
    entries, provenance, found = _combine(reads)
    problems += found
    if patients:  # a second Patient is a problem already; the first is still checked
        label, patient, full_url = patients[0]
        problems += _patient(label, patient, full_url, reads, entries, provenance)
    if problems:
        raise FhirInputError(problems)
    notes = [n for read in reads for n in read.notes]
    if patients:
        fields = {"sex": "Patient.gender", "age_years": "Patient.birthDate"}
        notes += [
            f"{patients[0][0]}: no {path}; {column} not given"
            for column, path in fields.items()
            if column not in entries
        ]
    answered = {read.key: read.resource for read in reads if read.key is not None}
    return FhirEntries(entries, provenance, tuple(notes), answered)
