"""FHIR R4 ``Questionnaire`` resources generated from the instrument declarations.

One source of truth: each Questionnaire is built from an instrument of
:mod:`prom.instruments` (its items, their ranges and short labels, its version, missing-item
rule and citation), so a change to a declaration changes the Questionnaire with it. The
generated JSON files ship in ``prom/data/fhir/Questionnaire-<instrument>.json``; a test
checks that they equal what :func:`questionnaire` produces now.

**Canonical URLs.** ``<base>/Questionnaire/<instrument key>`` with the instrument's version
as ``Questionnaire.version`` (``…/Questionnaire/odi|2.1a`` as a versioned canonical). The
default base, :data:`FHIR_BASE`, is this project's identifier, not the address of a server:
it lies under ``.example``, a domain reserved for documentation (RFC 2606), so it can
neither resolve nor collide with anyone's. A deployment that publishes the Questionnaires
under its own base passes ``base=`` here and to :func:`prom.fhir.entries_from_fhir`.

**linkIds** are the instruments' item names (``Instrument.item_names``): ODI
``pain_intensity`` … ``travelling``, NRS ``back`` and ``leg``, COMI ``back_pain``,
``leg_pain``, ``function``, ``wellbeing``, ``qol``, ``social_disability``,
``work_disability``, mJOA ``motor_upper``, ``motor_lower``, ``sensory_upper``,
``sphincter``. A linkId maps to the calculator's baseline column
``Instrument.item_columns("0m")[linkId]`` (``odi_lifting_0m``; the NRS ratings and COMI's
two pain items to ``nrs_back_0m`` and ``nrs_leg_0m``).

**Item types.** Whole-number items are ``integer`` items, decimal ones (the NRS ratings,
which a 0–100 mm VAS mapped onto 0–10 makes fractional) ``decimal`` items, each with the
standard ``minValue``/``maxValue`` extensions holding the declared range. The alternative,
``answerOption`` codes 0..k, was not chosen: the declarations hold a range and short
anchor labels, not the wording of each answer (which, for the ODI, is the copyright
holder's), so options without displays would say no more than a range; a decimal rating
cannot be an option list; and one representation for every item keeps the answer a plain
number, read as the instruments store it (``valueInteger`` 0–5 for an ODI section).

**Text** is the declaration's short label (``Section 3 – lifting``), never the
questionnaire's own wording: the ODI, COMI and mJOA forms are published by their authors,
and a site fills in the licensed wording in the form it renders.

**Codes.** ``Questionnaire.code`` is set only where the LOINC code was verified: LOINC
97908-8 "Oswestry Disability Index", a panel, checked against copies of the loinc.org pages
of 97908-8 and of 97909-6 (the ODI score, listed there as a member of that panel) read
offline. The panel is not version-specific (the score's description covers ODI versions
of up to ten questions, coded 0–5 or 1–6), so it names the instrument, not version 2.1a.
No item codes are given: the panel's item codes could not be verified here (no network),
and a wrong code is worse than none. The NRS ratings have no code because the LOINC
pain-severity terms found (on third-party pages only) rate pain in general, not back or leg
pain separately; COMI and mJOA have none because no LOINC term for them was found.

**Missing items** are not marked ``required``: an unanswered item is allowed by the form,
and the instrument's missing-item rule (in ``Questionnaire.description``) decides at
scoring whether a score can be computed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prom.instruments import INSTRUMENTS, Instrument

__all__ = [
    "base_problem",
    "FHIR_BASE",
    "FHIR_VERSION",
    "QUESTIONNAIRE_DIR",
    "LOINC_CODES",
    "canonical_url",
    "questionnaire",
    "questionnaires",
    "questionnaire_json",
    "write_questionnaires",
    "packaged_questionnaire",
]

#: The default base of the Questionnaires' canonical URLs (see the module docstring).
FHIR_BASE = "https://spine-prom.example/fhir"

#: The FHIR release the resources follow (R4; validated with ``fhir.resources.R4B``).
FHIR_VERSION = "4.0.1"

#: Where the generated Questionnaire files ship in the package.
QUESTIONNAIRE_DIR = Path(__file__).resolve().parent.parent / "data" / "fhir"

#: Verified LOINC codes by instrument key: ``(code, display, where it was checked)``.
LOINC_CODES: dict[str, tuple[str, str, str]] = {
    "odi": ("97908-8", "Oswestry Disability Index", "https://loinc.org/97908-8"),
}

_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"


def base_problem(base: str) -> str | None:
    """Why ``base`` cannot be a canonical base of the Questionnaires (``None`` when it
    can): an absolute ``http(s)`` URL without query, fragment or spaces, as FHIR's
    canonical URLs are."""
    from urllib.parse import urlsplit

    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{base!r} is not an absolute http(s) URL (e.g. https://fhir.example.org/fhir)"
    if parts.query or parts.fragment or any(c.isspace() for c in base):
        return f"{base!r} holds a query, a fragment or a space; a canonical base holds none"
    return None


def canonical_url(key: str, base: str = FHIR_BASE) -> str:
    """The canonical URL of an instrument's Questionnaire (``<base>/Questionnaire/<key>``)."""
    if key not in INSTRUMENTS:
        raise ValueError(f"unknown instrument {key!r}; expected one of {', '.join(INSTRUMENTS)}")
    return f"{base.rstrip('/')}/Questionnaire/{key}"


def _bound(url: str, value: float, integer: bool) -> dict[str, Any]:
    if integer:
        return {"url": url, "valueInteger": int(value)}
    return {"url": url, "valueDecimal": float(value)}


def _item(inst: Instrument, index: int) -> dict[str, Any]:
    it = inst.items[index]
    kind = "integer" if it.integer else "decimal"
    return {
        "linkId": it.name,
        "text": it.label,
        "type": kind,
        "extension": [
            _bound(_MIN_VALUE, it.low, it.integer),
            _bound(_MAX_VALUE, it.high, it.integer),
        ],
    }


def _description(inst: Instrument) -> str:
    lo, hi = inst.score_range
    return (
        f"{inst.name}, version {inst.version}: score {lo:g}–{hi:g} ({inst.direction}). "
        f"Items and ranges as declared in prom.instruments ({type(inst).__name__}); "
        f"answers are the items' numeric codes. Missing-item rule: {inst.missing_rule}. "
        f"Source: {inst.citation}"
    )


def questionnaire(key: str, base: str = FHIR_BASE) -> dict[str, Any]:
    """The FHIR R4 ``Questionnaire`` of instrument ``key`` as a JSON-ready dict.

    Built from the instrument's declaration with its default settings
    (:data:`prom.instruments.INSTRUMENTS`); see the module docstring for the choices.
    """
    url = canonical_url(key, base)
    inst = INSTRUMENTS[key]
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": key.replace("_", "-"),
        "url": url,
        "version": inst.version,
        "name": type(inst).__name__,
        "title": inst.name,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "spine-prom developers",
        "description": _description(inst),
        "copyright": (
            "Item texts are short labels from the toolkit's declarations, not the "
            "instrument's published wording; use the wording licensed by its authors."
        ),
    }
    if key in LOINC_CODES:
        code, display, _ = LOINC_CODES[key]
        resource["code"] = [{"system": "http://loinc.org", "code": code, "display": display}]
    resource["item"] = [_item(inst, j) for j in range(len(inst.items))]
    return resource


def questionnaires(base: str = FHIR_BASE) -> dict[str, dict[str, Any]]:
    """Every instrument's Questionnaire, by instrument key."""
    return {key: questionnaire(key, base) for key in INSTRUMENTS}


def questionnaire_json(key: str, base: str = FHIR_BASE) -> str:
    """The Questionnaire as the packaged file holds it (indented JSON, final newline)."""
    return json.dumps(questionnaire(key, base), indent=2, ensure_ascii=False) + "\n"


def write_questionnaires(directory: Path | str = QUESTIONNAIRE_DIR) -> list[Path]:
    """Write ``Questionnaire-<key>.json`` for every instrument into ``directory`` (the
    package's own by default: regenerate after changing a declaration)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for key in INSTRUMENTS:
        path = out / f"Questionnaire-{key}.json"
        path.write_text(questionnaire_json(key), encoding="utf-8")
        paths.append(path)
    return paths


def packaged_questionnaire(key: str) -> dict[str, Any]:
    """The Questionnaire file shipped with the package for instrument ``key``."""
    canonical_url(key)  # refuses an unknown key by name
    path = QUESTIONNAIRE_DIR / f"Questionnaire-{key}.json"
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result
