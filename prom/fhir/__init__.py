"""FHIR R4 in: Questionnaires for the toolkit's PROMs, and QuestionnaireResponses read into
the calculator's entries.

>>> from prom.fhir import entries_from_fhir, example_bundle
>>> bundle = example_bundle({"age_years": 52.0, "sex": "female", "nrs_leg_0m": 7.0})
>>> entries_from_fhir(bundle).entries
{'nrs_leg_0m': 7.0, 'sex': 'female', 'age_years': 52.0}

A pure library (no server, no network, no logging), the layer a prediction service calls:

- :mod:`~prom.fhir.questionnaires`: one ``Questionnaire`` per instrument, generated from
  its declaration (canonical URLs, linkIds = item names, ranges as ``minValue``/
  ``maxValue``); the files ship in ``prom/data/fhir``;
- :mod:`~prom.fhir.bundle`: :func:`entries_from_fhir` validates a QuestionnaireResponse or
  a Bundle with the FHIR models (``fhir.resources.R4B``) and returns the calculator's
  entries with where each came from; :mod:`~prom.fhir.responses` reads one response;
- :mod:`~prom.fhir.problems`: :class:`FhirInputError`, every problem at once;
- :mod:`~prom.fhir.example`: entries written as a Bundle (examples, round trips).

Needs the ``fhir`` extra (``pip install spine-prom[fhir]``) for validation.
"""

from prom.fhir.bundle import (
    FhirEntries,
    age_at,
    entries_from_fhir,
    fhir_columns,
    patient_reference,
)
from prom.fhir.example import EXAMPLE_AUTHORED, example_bundle
from prom.fhir.problems import FhirInputError, FhirProblem
from prom.fhir.questionnaires import (
    FHIR_BASE,
    FHIR_VERSION,
    QUESTIONNAIRE_DIR,
    canonical_url,
    packaged_questionnaire,
    questionnaire,
    questionnaire_json,
    questionnaires,
    write_questionnaires,
)
from prom.fhir.responses import ACCEPTED_STATUSES, read_response

__all__ = [
    "patient_reference",
    "entries_from_fhir",
    "FhirEntries",
    "FhirInputError",
    "FhirProblem",
    "fhir_columns",
    "age_at",
    "example_bundle",
    "EXAMPLE_AUTHORED",
    "read_response",
    "ACCEPTED_STATUSES",
    "FHIR_BASE",
    "FHIR_VERSION",
    "QUESTIONNAIRE_DIR",
    "canonical_url",
    "questionnaire",
    "questionnaires",
    "questionnaire_json",
    "write_questionnaires",
    "packaged_questionnaire",
]
