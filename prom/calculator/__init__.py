"""The one-patient calculator's logic: everything ``apps/calculator.py`` shows, without UI.

>>> from prom.bundle import load_bundle
>>> from prom.calculator import Calculator, DEMO_BUNDLE_PATH
>>> calc = Calculator(load_bundle(DEMO_BUNDLE_PATH))                      # doctest: +SKIP
>>> result = calc.predict({"region": "lumbar", "age_years": 52, "sex": "female",
...                        "odi_0m": 44, "nrs_back_0m": 5, "nrs_leg_0m": 7})  # doctest: +SKIP

Modules: :mod:`~prom.calculator.fields` (the form's fields from the cohort contract),
:mod:`~prom.calculator.entries` (each entry parsed and checked once, at the edge),
:mod:`~prom.calculator.inputs` (one patient's entries checked into a ``Patient``),
:mod:`~prom.calculator.predict` (every outcome through the bundle's models),
:mod:`~prom.calculator.intervals` (the calibration range shown with each probability),
:mod:`~prom.calculator.rules` (the transparent triage rules),
:mod:`~prom.calculator.imaging` (index-level features from an uploaded scan) and
:mod:`~prom.calculator.summary` (the printable one-page summary).

Nothing here writes a file or logs an entry; the uploaded scan is the one exception,
held in a private temporary directory only while its features are extracted.
"""

from pathlib import Path

from prom.calculator.inputs import (
    Field,
    Patient,
    PatientInputError,
    Problem,
    check_patient,
    field_names,
    item_fields,
    option_label,
    patient_fields,
)
from prom.calculator.intervals import (
    RANGE_LABEL,
    RANGE_METHOD,
    CalibrationEvidence,
    calibration_range,
)
from prom.calculator.predict import Calculator, explanations_available
from prom.calculator.results import (
    CalculatorResult,
    ModelAnswer,
    OutcomeRow,
    RangeWarning,
    TriageResult,
)
from prom.calculator.rules import RuleSuggestion, cervical_triage_rule, lumbar_triage_rule

#: The demonstration bundle the package ships (``prom/data/demo_bundle``: models trained on
#: the simulated cohort, not on patients; rebuilt by ``make demo-bundle``,
#: :mod:`prom.workflows.demo.bundle`), so the calculator starts without a bundle of one's own.
DEMO_BUNDLE_PATH = Path(__file__).resolve().parent.parent / "data" / "demo_bundle"

__all__ = [
    "Calculator",
    "CalculatorResult",
    "ModelAnswer",
    "OutcomeRow",
    "RangeWarning",
    "TriageResult",
    "Field",
    "Patient",
    "PatientInputError",
    "Problem",
    "check_patient",
    "field_names",
    "item_fields",
    "option_label",
    "patient_fields",
    "RANGE_LABEL",
    "RANGE_METHOD",
    "CalibrationEvidence",
    "calibration_range",
    "RuleSuggestion",
    "cervical_triage_rule",
    "lumbar_triage_rule",
    "explanations_available",
    "DEMO_BUNDLE_PATH",
]
