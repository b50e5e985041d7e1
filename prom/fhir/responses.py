"""One ``QuestionnaireResponse`` read into the calculator's item columns.

:func:`read_response` takes a response already validated against the FHIR R4 models (see
:mod:`prom.fhir.bundle`, which validates) and checks what the models cannot know:

- **status**: ``completed`` or ``amended`` only. ``in-progress`` answers may still change,
  ``stopped`` forms were abandoned by the patient (a partial form is scored only when
  it was submitted as complete, so that the missing-item rule applies to what the patient
  chose to leave out, not to an interrupted form), and ``entered-in-error`` must not be
  used at all;
- **questionnaire**: its canonical must be one of ours (:mod:`prom.fhir.questionnaires`),
  with our version when a version is given (``url|version``); without a version it is read
  as our current one, and the note says so;
- **items**: each linkId must be an item of that Questionnaire, at most once, with at most
  one answer, no nested items; an ``integer`` item takes ``valueInteger``, a ``decimal``
  item ``valueDecimal`` or ``valueInteger``; the value must be a JSON number (not text,
  not true/false) inside the declared range. An item without an answer, or absent, is not
  recorded: the instrument's missing-item rule decides later whether a score is possible.

Problems are collected, never raised here; the caller raises them together.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from prom.fhir.problems import FhirProblem
from prom.fhir.questionnaires import FHIR_BASE, canonical_url
from prom.instruments import INSTRUMENTS, Item

__all__ = ["ResponseRead", "read_response", "ACCEPTED_STATUSES", "match_questionnaire"]

#: The statuses whose answers are read (see the module docstring).
ACCEPTED_STATUSES: tuple[str, ...] = ("completed", "amended")

_FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class ResponseRead:
    """What one response gave: ``answers`` (column → value), ``sources`` (column → where
    the value came from, as text; ``paths``: its JSON path), the instrument ``key`` it answers, its ``authored`` date (None
    when absent or not a full date, ``authored_problem`` then says why), the ``subject``
    reference, ``notes`` and ``problems``."""

    resource: str
    key: str | None = None
    answers: dict[str, float | int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    authored: date | None = None
    authored_problem: FhirProblem | None = None
    subject: str | None = None
    notes: list[str] = field(default_factory=list)
    problems: list[FhirProblem] = field(default_factory=list)


def match_questionnaire(
    canonical: Any, resource: str, base: str = FHIR_BASE
) -> tuple[str | None, str | None, FhirProblem | None]:
    """The instrument key a ``questionnaire`` canonical names, a note when it carries no
    version, or the problem that refuses it."""
    path = "QuestionnaireResponse.questionnaire"
    ours = {canonical_url(k, base): k for k in INSTRUMENTS}
    known = ", ".join(f"{u}|{INSTRUMENTS[k].version}" for u, k in ours.items())
    if not isinstance(canonical, str) or not canonical.strip():
        return None, None, FhirProblem(resource, path, canonical, f"one of {known}")
    url, _, version = canonical.partition("|")
    key = ours.get(url)
    if key is None:
        return (
            None,
            None,
            FhirProblem(
                resource,
                path,
                canonical,
                f"one of {known}",
                "not a Questionnaire this toolkit scores",
            ),
        )
    ours_version = INSTRUMENTS[key].version
    if version and version != ours_version:
        return (
            None,
            None,
            FhirProblem(
                resource,
                path,
                canonical,
                f"{url}|{ours_version}",
                f"version {version!r} of {INSTRUMENTS[key].name} is not the one this toolkit "
                "scores (item ranges or scoring may differ)",
            ),
        )
    note = None
    if not version:
        note = f"{resource}: questionnaire has no version; read as {url}|{ours_version}"
    return key, note, None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _answer_value(
    item: Item, answer: dict[str, Any], path: str, resource: str
) -> tuple[float | int | None, str, FhirProblem | None]:
    """The answer's number, the field it came from, or the problem."""
    allowed = ("valueInteger",) if item.integer else ("valueDecimal", "valueInteger")
    kind = "whole number" if item.integer else "number"
    expected = f"{' or '.join(allowed)}, a {kind} {item.low:g}–{item.high:g}"
    keys = [k for k in answer if k.startswith("value")]
    if not keys:
        return None, path, FhirProblem(resource, path, None, expected, "the answer has no value")
    key = keys[0]
    where = f"{path}.{key}"
    value = answer[key]
    if key not in allowed:
        return (
            None,
            where,
            FhirProblem(
                resource, where, value, expected, f"item '{item.name}' is answered with {key}"
            ),
        )
    if not _number(value) or (key == "valueInteger" and not isinstance(value, int)):
        return (
            None,
            where,
            FhirProblem(
                resource,
                where,
                value,
                expected,
                "not a JSON number" if not _number(value) else "not a whole number",
            ),
        )
    # an int is compared as it is: a float of a huge one would overflow
    if (isinstance(value, float) and not math.isfinite(value)) or not (
        item.low <= value <= item.high
    ):
        return (
            None,
            where,
            FhirProblem(
                resource, where, value, expected, f"outside the range of item '{item.name}'"
            ),
        )
    return (int(value) if item.integer else float(value)), where, None


def _read_items(read: ResponseRead, items: Any, key: str, canonical: str) -> None:
    inst = INSTRUMENTS[key]
    by_link = {it.name: it for it in inst.items}
    columns = inst.item_columns("0m")
    seen: dict[str, str] = {}
    for i, entry in enumerate(items or []):
        path = f"QuestionnaireResponse.item[{i}]"
        link = entry.get("linkId")
        if not isinstance(link, str) or link not in by_link:
            read.problems.append(
                FhirProblem(
                    read.resource,
                    f"{path}.linkId",
                    link,
                    f"a linkId of {canonical}: {', '.join(by_link)}",
                    "unknown linkId",
                )
            )
            continue
        if link in seen:
            read.problems.append(
                FhirProblem(
                    read.resource,
                    f"{path}.linkId",
                    link,
                    "each item once",
                    f"item '{link}' is answered twice (also {seen[link]})",
                )
            )
            continue
        seen[link] = path
        if entry.get("item"):
            read.problems.append(
                FhirProblem(
                    read.resource,
                    f"{path}.item",
                    "…",
                    "no nested items",
                    f"{inst.name}'s Questionnaire has no groups",
                )
            )
            continue
        answers = entry.get("answer") or []
        if not answers:
            read.notes.append(f"{read.resource}: {path} ('{link}') has no answer: not recorded")
            continue
        if len(answers) > 1:
            read.problems.append(
                FhirProblem(
                    read.resource,
                    f"{path}.answer",
                    len(answers),
                    "one answer",
                    f"item '{link}' has {len(answers)} answers",
                )
            )
            continue
        apath = f"{path}.answer[0]"
        if answers[0].get("item"):
            read.problems.append(
                FhirProblem(
                    read.resource,
                    f"{apath}.item",
                    "…",
                    "no nested items",
                    f"{inst.name}'s answers have no follow-up items",
                )
            )
            continue
        value, where, problem = _answer_value(by_link[link], answers[0], apath, read.resource)
        if problem is not None:
            read.problems.append(problem)
            continue
        column = columns[link]
        read.answers[column] = value  # type: ignore[assignment]
        read.paths[column] = where
        read.sources[column] = f"{read.resource}: {where} (linkId '{link}' of {canonical})"


def _authored(read: ResponseRead, value: Any) -> None:
    path = "QuestionnaireResponse.authored"
    expected = "a date-time with at least a full date (YYYY-MM-DD…), to compute age"
    if isinstance(value, str) and _FULL_DATE.match(value):
        try:
            on = date.fromisoformat(value[:10])
        except ValueError:
            pass
        else:
            # a day's grace: the author's time zone may already be on the next date
            if on > date.today() + timedelta(days=1):
                read.problems.append(
                    FhirProblem(
                        read.resource,
                        path,
                        value,
                        "a date that has passed",
                        "a form cannot be completed in the future (age is computed on it)",
                    )
                )
            else:
                read.authored = on
            return
    read.authored_problem = FhirProblem(read.resource, path, value, expected)


def read_response(raw: dict[str, Any], resource: str, base: str = FHIR_BASE) -> ResponseRead:
    """Read one QuestionnaireResponse (a dict that passed the FHIR models' validation).

    ``resource`` is how messages name it. Returns a :class:`ResponseRead` with the answers
    by calculator column, where each came from, and every problem found.
    """
    read = ResponseRead(resource)
    status = raw.get("status")
    if status not in ACCEPTED_STATUSES:
        read.problems.append(
            FhirProblem(
                resource,
                "QuestionnaireResponse.status",
                status,
                " or ".join(ACCEPTED_STATUSES),
                "only submitted forms are scored (see prom.fhir.responses)",
            )
        )
    key, note, problem = match_questionnaire(raw.get("questionnaire"), resource, base)
    if note:
        read.notes.append(note)
    if problem is not None:
        read.problems.append(problem)
    subject = raw.get("subject")
    if isinstance(subject, dict) and isinstance(subject.get("reference"), str):
        read.subject = subject["reference"]
    _authored(read, raw.get("authored"))
    if key is not None:
        read.key = key
        canonical = f"{canonical_url(key, base)}|{INSTRUMENTS[key].version}"
        _read_items(read, raw.get("item"), key, canonical)
    return read
