"""The HTTP front end: a FastAPI application over a :class:`prom.service.PredictionService`.

Endpoints (``/v1``; the OpenAPI document at ``/openapi.json``):

============================================ ============================================
``GET /v1/health``, ``GET /v1/ready``        liveness and readiness (no token)
``POST /v1/predict``                         one patient (entries and/or FHIR)
``POST /v1/predict/fhir``                    one patient as a bare FHIR resource
``POST /v1/predict/batch``                   up to 100 patients, per-row results/problems
``GET /v1/bundles``                          the bundles served
``GET /v1/bundles/{bundle_id}/model-card``   model card and validation summary
``GET /cds-services``                        CDS Hooks 2.0 discovery
``POST /cds-services/{service_id}``          CDS Hooks 2.0 cards
============================================ ============================================

Every error is an RFC 9457 problem (``application/problem+json``: ``type``, ``title``,
``status``, ``detail`` and ``errors``, each naming a field path): 401 (token), 404
(unknown path or bundle), 413 (body size), 422 (input the schema or the calculator does
not take), 429 (rate). An unexpected failure is a 500 problem without details; its
exception is logged by type only (a message could quote a patient's value).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from prom.calculator import PatientInputError
from prom.fhir import FhirInputError
from prom.server.guard import BURST, MAX_BODY, RATE, Guard
from prom.server.schemas import (
    BatchRequest,
    BatchResponse,
    BundleInfo,
    CdsDiscovery,
    CdsRequest,
    CdsResponse,
    FhirResource,
    Health,
    ModelCard,
    PredictRequest,
    PredictResponse,
    ProblemDetail,
    Ready,
)
from prom.service import (
    MAX_REASONS,
    PatientRequest,
    PredictionService,
    UnknownBundleError,
    input_problems,
)
from prom.service import cds as cds_hooks

__all__ = ["create_app", "PROBLEM_TYPE"]

PROBLEM_TYPE = "application/problem+json"

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    code: {"model": ProblemDetail, "content": {PROBLEM_TYPE: {}}, "description": what}
    for code, what in (
        (401, "No or wrong bearer token"),
        (404, "Unknown bundle or service"),
        (413, "Body too large"),
        (422, "Input the schema or the calculator does not take"),
        (429, "Rate limit"),
    )
}


def _problem(status: int, title: str, detail: str, errors: list[dict] | None = None):
    return JSONResponse(
        {
            "type": f"https://spine-prom.example/problems/{status}",
            "title": title,
            "status": status,
            "detail": detail,
            "errors": errors or [],
        },
        status_code=status,
        media_type=PROBLEM_TYPE,
    )


def _request(p: PredictRequest) -> PatientRequest:
    return PatientRequest(entries=p.entries, fhir=p.fhir, bundle=p.bundle, reasons=p.reasons)


def _card_url(request: Request, bundle_id: str) -> str:
    return str(request.url_for("model_card", bundle_id=bundle_id))


def create_app(
    service: PredictionService,
    token: str,
    *,
    max_body: int = MAX_BODY,
    rate: float = RATE,
    burst: int = BURST,
) -> Any:
    """The ASGI application: the FastAPI app wrapped in :class:`prom.server.guard.Guard`
    (size, rate, token, access log); ``app.state.service`` inside is ``service``."""
    app = FastAPI(
        title="spine-prom prediction service",
        version="1",
        description="Spine outcome predictions from signed model bundles: calculator "
        "entries or FHIR questionnaire responses in, calibrated probabilities and CDS Hooks "
        "cards out. Bearer token on everything but /v1/health and /v1/ready.",
    )
    app.state.service = service
    secured = [Depends(HTTPBearer(auto_error=False))]  # declares the scheme; Guard checks

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ())),
                "message": str(e.get("msg", "invalid")),
            }
            for e in exc.errors()
        ]
        n = len(errors)
        return _problem(
            422, "Invalid request", f"{n} problem{'s' * (n != 1)} in the request", errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:  # a body FastAPI could not parse (too deep, huge number)
            return _problem(
                422,
                "Invalid request",
                "the body could not be read as JSON",
                [{"field": "body", "message": f"not readable JSON ({exc.detail})"}],
            )
        return _problem(exc.status_code, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        # logged by type only, once, by prom.server.guard.Guard (Starlette re-raises)
        return _problem(500, "Internal error", "the service failed; the error is logged by type")

    def _input_problem(e: Exception):
        if isinstance(e, UnknownBundleError):
            return _problem(404, "Unknown bundle", str(e), input_problems(e))
        what = "FHIR input" if isinstance(e, FhirInputError) else "patient entries"
        errors = input_problems(e)
        return _problem(422, f"Invalid {what}", f"{len(errors)} problem(s) in the {what}", errors)

    @app.get("/v1/health", response_model=Health, tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness: the process answers (no token)."""
        return service.health()

    @app.get("/v1/ready", response_model=Ready, tags=["health"])
    def ready() -> dict[str, Any]:
        """Readiness: every bundle verified and loaded (no token)."""
        return service.ready()

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses=_PROBLEMS,
        dependencies=secured,
        tags=["predict"],
    )
    def predict(body: PredictRequest):
        """Every outcome for one patient: the calculator's numbers, unrounded."""
        try:
            return service.predict(_request(body))
        except (PatientInputError, FhirInputError, UnknownBundleError) as e:
            return _input_problem(e)

    @app.post(
        "/v1/predict/fhir",
        response_model=PredictResponse,
        responses=_PROBLEMS,
        dependencies=secured,
        tags=["predict"],
    )
    def predict_fhir(
        body: FhirResource,
        region: Literal["lumbar", "cervical"] | None = None,
        reasons: Annotated[int, Query(ge=0, le=MAX_REASONS)] = 3,
        bundle: Annotated[
            str | None,
            Query(max_length=64, description="Bundle id or prefix (default: the first)."),
        ] = None,
    ):
        """One patient as a bare QuestionnaireResponse or Bundle: only what FHIR carries,
        the region from ``region`` or, without it, from the questionnaires answered (an
        mJOA response: cervical, otherwise lumbar); the models impute the rest. ``bundle``
        chooses the bundle, as the ``bundle`` field of ``/v1/predict`` does."""
        resource = body.model_dump()
        where: str | None = region
        if where is None:
            wrapped = resource
            if resource.get("resourceType") != "Bundle":
                wrapped = {"resourceType": "Bundle", "entry": [{"resource": resource}]}
            where = cds_hooks.region_of(wrapped)
        request = PatientRequest(
            entries={"region": where}, fhir=resource, bundle=bundle, reasons=reasons
        )
        try:
            return service.predict(request)
        except (PatientInputError, FhirInputError, UnknownBundleError) as e:
            return _input_problem(e)

    @app.post(
        "/v1/predict/batch",
        response_model=BatchResponse,
        responses=_PROBLEMS,
        dependencies=secured,
        tags=["predict"],
    )
    def predict_batch(body: BatchRequest) -> dict[str, Any]:
        """Up to 100 patients; each row has its result or its problems."""
        return {"results": service.predict_batch([_request(p) for p in body.patients])}

    @app.get(
        "/v1/bundles",
        response_model=list[BundleInfo],
        responses=_PROBLEMS,
        dependencies=secured,
        tags=["bundles"],
    )
    def bundles() -> list[dict[str, Any]]:
        """The bundles served (the first is the default)."""
        return service.bundles()

    @app.get(
        "/v1/bundles/{bundle_id}/model-card",
        response_model=ModelCard,
        responses=_PROBLEMS,
        dependencies=secured,
        tags=["bundles"],
        name="model_card",
    )
    def model_card(bundle_id: str):
        """The bundle's model card and validation summary (aggregates only)."""
        try:
            return service.model_card(bundle_id)
        except UnknownBundleError as e:
            return _input_problem(e)

    @app.get(
        "/cds-services",
        response_model=CdsDiscovery,
        response_model_exclude_none=True,
        responses=_PROBLEMS,
        dependencies=secured,
        tags=["cds-hooks"],
    )
    def cds_discovery() -> dict[str, Any]:
        """CDS Hooks 2.0 discovery: the services and their prefetch templates."""
        return cds_hooks.discovery()

    @app.post(
        "/cds-services/{service_id}",
        response_model=CdsResponse,
        response_model_exclude_none=True,  # CDS clients expect absent, not null, members
        responses=_PROBLEMS,
        dependencies=secured,
        tags=["cds-hooks"],
    )
    def cds_call(service_id: str, body: CdsRequest, request: Request):
        """CDS Hooks 2.0 call: cards from the prefetched Patient and responses (a call
        whose hook, context or prefetched patient does not fit the service is a 422)."""
        if service_id in cds_hooks.SERVICE_IDS:
            wrong = cds_hooks.check_request(service_id, body.hook, body.context, body.prefetch)
            if wrong:
                n = len(wrong)
                detail = f"{n} problem{'s' * (n != 1)} in the hook call"
                return _problem(422, "Invalid CDS Hooks request", detail, wrong)
        try:
            cards = cds_hooks.answer_hook(
                service,
                service_id,
                body.context,
                body.prefetch,
                _card_url(request, service.default),
            )
        except KeyError:
            return _problem(
                404,
                "Unknown CDS service",
                f"no CDS service {service_id!r}; GET /cds-services lists them",
                [{"field": "path.service_id", "message": "not a service of this server"}],
            )
        return {"cards": cards}

    return Guard(app, token=token, max_body=max_body, rate=rate, burst=burst)
