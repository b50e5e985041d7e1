"""The HTTP service's request and response models (pydantic): what the OpenAPI document
declares and what every request and response is validated against.

A patient is ``{"entries": {...}, "fhir": {...}}`` (:mod:`prom.service.inputs`): entry
values are JSON scalars (text, number, true/false, null); ``fhir`` a QuestionnaireResponse
or a Bundle, validated by :func:`prom.fhir.entries_from_fhir`.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)
from pydantic.functional_validators import BeforeValidator

from prom.service import MAX_BATCH, MAX_REASONS

__all__ = [
    "EntryValue",
    "PredictRequest",
    "BatchRequest",
    "FhirResource",
    "PredictResponse",
    "BatchResponse",
    "BundleInfo",
    "ModelCard",
    "Health",
    "Ready",
    "FieldError",
    "ProblemDetail",
    "CdsService",
    "CdsDiscovery",
    "CdsRequest",
    "Card",
    "CdsResponse",
]


def _one_value(v: Any) -> Any:
    """One clear message, on the entry's own field, for a value no entry can be — NaN or
    Infinity (not JSON, though Python's reader takes them), a list, an object — rather
    than one message per type the entry could have had."""
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(
            "NaN and Infinity are not JSON numbers; leave out (or send null for) an entry "
            "that was not recorded"
        )
    if isinstance(v, (list, dict)):
        kind = "a list" if isinstance(v, list) else "an object"
        raise ValueError(f"{kind}: an entry is one value: a number, text, true/false or null")
    return v


#: An entry's value (one message for NaN, Infinity, a list or an object: :func:`_one_value`).
EntryValue = Annotated[
    StrictBool | StrictInt | StrictFloat | StrictStr | None, BeforeValidator(_one_value)
]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PredictRequest(_Closed):
    """One patient: calculator entries, a FHIR resource, or both."""

    entries: dict[str, EntryValue] = Field(
        default_factory=dict,
        description="Calculator entries, column -> value (null: not recorded); the "
        "columns FHIR does not carry (region, diagnosis, history, imaging, PROM totals).",
    )
    fhir: dict[str, Any] | None = Field(
        default=None,
        description="A FHIR R4 QuestionnaireResponse, or a Bundle of responses and at "
        "most one Patient; a column may come from here or from entries, not both.",
    )
    bundle: str | None = Field(
        default=None, max_length=64, description="Bundle id or prefix (default: the first)."
    )
    reasons: int = Field(default=3, ge=0, le=MAX_REASONS, description="Top reasons per outcome.")


class FhirResource(BaseModel):
    """A bare FHIR R4 QuestionnaireResponse or Bundle (validated by the FHIR reader)."""

    model_config = ConfigDict(extra="allow")

    resourceType: Literal["QuestionnaireResponse", "Bundle"]


class BatchRequest(_Closed):
    """Several patients, answered row by row."""

    patients: list[PredictRequest] = Field(min_length=1, max_length=MAX_BATCH)


class ModelAnswer(BaseModel):
    model: str
    probability: float
    low: float | None
    high: float | None


class Outcome(BaseModel):
    task: str
    outcome: str
    treatment: str | None
    definition: str
    primary: str
    baseline: str | None
    withheld: str | None
    answers: list[ModelAnswer]
    reasons: list[str]


class ClassProbabilities(BaseModel):
    model: str
    probabilities: dict[str, float]


class Triage(BaseModel):
    classes: list[str]
    primary: str
    baseline: str | None
    probabilities: list[ClassProbabilities]
    suggestion: str | None
    withheld: str | None
    reasons: list[str]


class Rule(BaseModel):
    suggestion: str
    severity_class: str
    pain_class: str | None
    reason: str
    source: str


class RangeWarning(BaseModel):
    column: str
    message: str
    tasks: list[str]
    kind: str


class PredictResponse(BaseModel):
    """Every outcome for one patient, the calculator's numbers unrounded."""

    bundle_id: str
    bundle_description: str
    demonstration: bool
    simulated_data_warning: str | None
    region: str
    mcid: list[Outcome]
    tfesi: Outcome | None
    triage: Triage | None
    rule: Rule | None
    rule_missing: str | None
    warnings: list[RangeWarning]
    notes: list[str]
    imputed: list[str]
    scored_from_items: dict[str, str]


class FieldError(BaseModel):
    """One problem: the field's path (``body.entries.age_years``, or the FHIR resource
    and its path) and what is wrong."""

    field: str
    message: str


class BatchRow(BaseModel):
    index: int
    result: PredictResponse | None
    problems: list[FieldError]


class BatchResponse(BaseModel):
    results: list[BatchRow]


class BundleInfo(BaseModel):
    bundle_id: str
    description: str
    demonstration: bool
    trust: str
    tasks: list[str]
    not_served: dict[str, str] = Field(
        description="The bundle's tasks the service does not serve, each with the reason"
    )
    default: bool


class TaskCard(BaseModel):
    task: str
    kind: str
    description: str
    outcome: str
    regions: list[str]
    treatments: list[str]
    predictors: list[str]
    n: int
    n_events: int | None
    primary: str
    baseline: str | None
    models: list[str]
    definition: str | None
    warnings: list[str]
    validation: list[dict[str, float | str | None]]
    validation_of: str = Field(description="Which models the validation figures are of")
    recalibration: str | None = Field(
        description="How the models were recalibrated since development (None: not)"
    )
    sample_size: str | None


class ModelCard(BaseModel):
    """A bundle's model card and validation summary: aggregates only."""

    bundle_id: str
    description: str
    created: str
    demonstration: bool
    trust: str
    spine_prom_version: str
    tasks: list[TaskCard]
    not_shown: dict[str, str]


class Health(BaseModel):
    status: Literal["ok"]
    uptime_s: float


class Ready(BaseModel):
    status: Literal["ready"]
    bundles: int


class ProblemDetail(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


# --- CDS Hooks 2.0 ------------------------------------------------------------------------


class CdsService(BaseModel):
    hook: str
    id: str
    title: str | None = None
    description: str
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None  # the specification's camelCase names


class CdsDiscovery(BaseModel):
    services: list[CdsService]


class FhirAuthorization(BaseModel):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    subject: str
    patient: str | None = None


class CdsRequest(BaseModel):
    """A CDS Hooks 2.0 request (extra members allowed, as the specification's are)."""

    model_config = ConfigDict(extra="allow")

    hook: str
    hookInstance: str
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None


class CardSource(BaseModel):
    label: str
    url: str | None = None
    icon: str | None = None


class Card(BaseModel):
    uuid: str | None = None
    summary: str = Field(max_length=140)
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: CardSource


class CdsResponse(BaseModel):
    cards: list[Card]
