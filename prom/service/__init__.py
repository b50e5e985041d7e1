"""The prediction service's application layer: signed bundles in, answers out, no HTTP.

:mod:`prom.server` (HTTP, CDS Hooks) and ``prom serve`` are thin front ends over it.

- :mod:`~prom.service.core`: :func:`load_service` (every bundle verified, or none
  served) and :class:`PredictionService` (one patient, a bounded batch, the model card,
  health and readiness), answering through :class:`prom.calculator.Calculator`;
- :mod:`~prom.service.inputs`: calculator entries and FHIR resources merged into one
  patient's entries;
- :mod:`~prom.service.results`: the calculator's result as JSON-able data, unrounded;
- :mod:`~prom.service.card`: the model card and validation summary (no patient data);
- :mod:`~prom.service.cds`: CDS Hooks 2.0 discovery and cards.
"""

from prom.service.card import model_card
from prom.service.core import (
    MAX_BATCH,
    MAX_REASONS,
    PatientRequest,
    PredictionService,
    UnknownBundleError,
    input_problems,
    load_service,
)
from prom.service.inputs import MergedEntries, merge_entries
from prom.service.results import DEMO_WARNING, result_dict

__all__ = [
    "PredictionService",
    "PatientRequest",
    "UnknownBundleError",
    "load_service",
    "input_problems",
    "MAX_BATCH",
    "MAX_REASONS",
    "MergedEntries",
    "merge_entries",
    "result_dict",
    "DEMO_WARNING",
    "model_card",
]
