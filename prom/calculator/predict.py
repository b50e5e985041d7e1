"""One patient through a bundle: every outcome, both models, ranges, reasons and warnings.

:class:`Calculator` wraps a loaded bundle (:func:`prom.bundle.load_bundle`) once — which
task answers which question, which treatments each model knows, the calibration evidence
of every model — and :meth:`Calculator.predict` answers for one patient with the bundle's
own models (``predict_proba``; no preprocessing or scoring is re-implemented here):

- **MCID of each PROM at 12 months** (the bundle's ``mcid_*`` tasks of the patient's
  region), for every treatment the model was trained on: these tasks take the treatment
  as a predictor, so the same patient gets one probability per treatment. Those are
  associations in the development cohort, where treatment was chosen, not randomised;
  the difference between treatments is not a treatment effect, and the app says so;
- **TFESI response** (``tfesi_response``: ≥ 50% leg-pain reduction at 1 month), the
  probability *if* the patient is injected;
- **triage** (``triage``): the treatment patients like this received at the development
  sites, beside the transparent rule of :mod:`prom.calculator.rules`.

For every binary answer: the primary model (the best family by the bundle's validation)
and logistic regression side by side, each with the calibration range of
:mod:`prom.calculator.intervals`, and — when :mod:`prom.explain` is installed — the
primary model's per-variable contributions (SHAP; log-odds scale). Predictions are
withheld, with the reason, where they would mean nothing: a PROM not entered, a baseline
that leaves no room to reach the MCID. Entries outside the range of the training rows
give warnings (the models extrapolate there).

Nothing is stored or logged: the result lives only in the returned object.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from prom.bundle import ClassifierTaskEntry
from prom.calculator.fields import field_names, instrument_name
from prom.calculator.inputs import Patient, check_patient, unread_entries
from prom.calculator.intervals import CalibrationEvidence, calibration_range, evidence_for
from prom.calculator.patient_rows import OneThread, PatientRows
from prom.calculator.results import (
    CalculatorResult,
    ModelAnswer,
    OutcomeRow,
    RangeWarning,
    TriageResult,
)
from prom.calculator.rules import (
    RuleSuggestion,
    cervical_triage_rule,
    lumbar_triage_rule,
    score_text,
)
from prom.calculator.tails import imputed_note
from prom.outcomes import McidDefinition

__all__ = ["Calculator", "explanations_available"]

#: PROM order on screen (instrument keys).
PROM_ORDER: tuple[str, ...] = ("odi", "nrs_back", "nrs_leg", "comi", "mjoa")


def explanations_available() -> bool:
    """Whether :mod:`prom.explain` (and its shap/matplotlib extra) can be imported."""
    try:
        import prom.explain  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class _Task:
    name: str
    kind: str
    role: str  # "mcid", "tfesi", "triage"
    outcome: str
    instrument: str | None
    regions: tuple[str, ...]
    treatments: tuple[str, ...]
    predictors: tuple[str, ...]
    evidence: dict[str, CalibrationEvidence | None]


class Calculator:
    """A bundle prepared for one-patient predictions (holds no patient data)."""

    def __init__(self, bundle):
        from prom.cohort.contract import CATEGORIES
        from prom.instruments import INSTRUMENTS
        from prom.outcomes import TASKS

        self.bundle = bundle
        self.description = bundle.manifest.description
        self.is_demo = bundle.manifest.is_demonstration
        self.skipped: dict[str, str] = {}
        fields = set(field_names())
        tasks: list[_Task] = []
        for name, bt in bundle.tasks.items():
            entry = bt.entry
            kind = entry.kind
            builtin = TASKS.get(name)
            if builtin is None:
                self.skipped[name] = (
                    "not a built-in task: the calculator shows the built-in "
                    "MCID, TFESI-response and triage tasks"
                )
                continue
            if kind == "survival":
                self.skipped[name] = "survival task: not shown by the calculator"
                continue
            if lacking := [p for p in entry.predictors if p not in fields and p != "treatment"]:
                self.skipped[name] = (  # fitted with the researcher's own --predictors
                    f"its models read {', '.join(lacking)}, which the calculator has no field "
                    "for: every prediction would put the training median in their place"
                )
                continue
            regions = tuple(builtin.population.get("region", ("lumbar", "cervical")))
            predictors = tuple(entry.predictors)
            evidence = (
                {m: evidence_for(entry, m) for m in bt.models}
                if isinstance(entry, ClassifierTaskEntry) and kind == "binary"
                else {}
            )
            if kind == "multiclass" and name == "triage":
                tasks.append(
                    _Task(
                        name,
                        kind,
                        "triage",
                        "treatment path",
                        None,
                        regions,
                        (),
                        predictors,
                        evidence,
                    )
                )
                continue
            if kind != "binary":
                self.skipped[name] = f"{kind} task: not shown by the calculator"
                continue
            inst = entry.instrument or builtin.declared("instrument")
            role = "tfesi" if name == "tfesi_response" else "mcid"
            treatments: tuple[str, ...] = ()
            if "treatment" in predictors:  # those the model was trained on, contract order
                rng = bt.models[bt.primary].preprocessor_.training_ranges_.get("treatment", {})
                known = {str(c) for c in rng.get("categories", ())}
                treatments = tuple(c for c in CATEGORIES["treatment"] if c in known)
            outcome = "TFESI response" if role == "tfesi" else INSTRUMENTS[inst].name
            tasks.append(
                _Task(name, kind, role, outcome, inst, regions, treatments, predictors, evidence)
            )
        order = {k: i for i, k in enumerate(PROM_ORDER)}
        self.tasks = sorted(
            tasks,
            key=lambda t: (
                {"mcid": 0, "tfesi": 1, "triage": 2}[t.role],
                order.get(t.instrument or "", 99),
                t.name,
            ),
        )
        self.columns = tuple(
            dict.fromkeys([c for t in self.tasks for c in t.predictors] + ["treatment"])
        )
        self.explain = explanations_available()
        self._one_thread = OneThread()  # after load_bundle loaded the boosters' libraries
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------------------
    def predict(
        self, entries: Mapping[str, Any] | Patient, *, explain: bool = True
    ) -> CalculatorResult:
        """Every outcome for one patient (see the module docstring).

        ``entries``: column → value (checked with :func:`~prom.calculator.inputs.
        check_patient`, which raises :class:`~prom.calculator.inputs.PatientInputError`
        listing every entry outside the contract) or an already checked :class:`Patient`.
        """
        patient = entries if isinstance(entries, Patient) else check_patient(entries)
        with self._lock:  # one prediction at a time: the thread limit is process-wide
            return self._predict(patient, explain and self.explain)

    def _predict(self, patient: Patient, explain: bool) -> CalculatorResult:
        region = patient.region
        rows = PatientRows(patient.frame(self.columns))
        notes: list[str] = []
        mcid: list[OutcomeRow] = []
        tfesi = None
        triage = None
        used: list[_Task] = []
        with self._one_thread():
            for t in self.tasks:
                if region not in t.regions:
                    continue
                used.append(t)
                if t.role == "triage":
                    triage = self._triage(t, rows, explain, notes)
                elif t.role == "tfesi":
                    tfesi = self._binary(t, rows, patient, (None,), explain, notes)[0]
                else:
                    mcid += self._binary(t, rows, patient, t.treatments or (None,), explain, notes)
        notes += list(patient.withheld.values())
        if unread := unread_entries(patient, {c for t in used for c in t.predictors}):
            notes.append(f"entered but read by no model for a {region} patient: {unread}")
        for inst, how in patient.scored_from_items.items():
            score = score_text(patient.values[f"{inst}_0m"])
            notes.append(f"{instrument_name(inst)} {how}: {score}")
        rule = self._rule(patient)
        if triage is not None:
            triage = dataclasses.replace(triage, rule=rule)
        if not used:
            notes.append(f"this bundle has no task for {region} patients")
        imputed = self._imputed(used, patient)
        if imputed:
            notes.append(imputed_note(imputed))
        return CalculatorResult(
            patient=patient,
            mcid=tuple(mcid),
            tfesi=tfesi,
            triage=triage,
            rule=rule,
            warnings=tuple(self._range_warnings(self._predicting(used, patient), patient)),
            notes=tuple(notes),
            bundle_id=self.bundle.bundle_id,
            bundle_description=self.description,
            is_demo=self.is_demo,
            imputed=imputed,
        )

    def _predicting(self, used: list[_Task], patient: Patient) -> list[_Task]:
        """The tasks of ``used`` that give this patient a prediction (not withheld)."""
        return [
            t
            for t in used
            if t.role == "triage"
            or t.instrument is None
            or self._withhold_reason(t, patient) is None
        ]

    def _imputed(self, used: list[_Task], patient: Patient) -> tuple[str, ...]:
        """The numeric entries left empty that a predicting task's primary model fills in
        with its training median (:mod:`prom.models.imputed`), in field order."""
        out: list[str] = []
        for t in self._predicting(used, patient):  # no prediction: nothing imputed
            bt = self.bundle.tasks[t.name]
            for col in bt.models[bt.primary].preprocessor_.numeric_:
                if col != "treatment" and patient.values.get(col) is None and col not in out:
                    out.append(col)
        return tuple(out)

    # ------------------------------------------------------------------------------------
    def _withhold_reason(self, t: _Task, patient: Patient) -> str | None:
        from prom.instruments import INSTRUMENTS
        from prom.instruments.mcid import get_threshold, mcid_eligible

        col = f"{t.instrument}_0m"
        b = patient.values.get(col)
        inst = INSTRUMENTS[str(t.instrument)]
        if b is None:
            why = patient.withheld.get(col)
            return why or f"baseline {inst.name} not entered"
        try:
            threshold = get_threshold(self.bundle.tasks[t.name].entry.threshold)
        except (ValueError, KeyError, TypeError):
            return None  # a threshold outside the registry: no room check possible
        if not bool(mcid_eligible(np.array([float(b)]), threshold)[0]):
            return (
                f"baseline {inst.name} {score_text(b)} leaves no room to reach "
                f"{threshold.describe()}"
            )
        return None

    def _probabilities(
        self, bt, rows: PatientRows, treatments: tuple, explain: bool, notes: list[str]
    ):
        """Calibrated probabilities (rows × classes) of every model of a task, primary
        first, and the primary model's explanation (``None`` without ``explain``).

        With an explanation the primary model's probability is the end point of its
        probability points — ``f(base + Σ contributions)``, ``f`` the model's own map
        from its raw output through its calibrator (:meth:`Explanation.
        to_probability_points`) — so the displayed number and the waterfall agree by
        construction; it equals ``predict_proba`` to the additivity residual (~1e-15 for
        logistic and LightGBM, ~1e-7 for XGBoost's single precision), and saves a second
        pass through the preprocessing. The patient's rows (once per treatment) come
        from ``rows``: converted once (:class:`~prom.models.columns.ColumnCache`) and
        shared by every model and task. Unseen categories are reported by
        :meth:`_range_warnings`.
        """
        # the primary and logistic regression; when they are the same model, the best
        # other one for contrast (binary tasks only: the triage view shows no third model)
        order = [m for m in dict.fromkeys([bt.primary, bt.baseline]) if m in bt.models]
        entry = bt.entry
        if len(order) == 1 and isinstance(entry, ClassifierTaskEntry) and entry.kind == "binary":
            auc = {r.get("model"): r.get("auc") for r in entry.comparison}
            others = sorted(
                (m for m in bt.models if m not in order),
                key=lambda m: -(v if isinstance(v := auc.get(m), float) else -1.0),
            )
            order += others[:1]
        X, columns = rows.get(treatments)
        probs: dict[str, np.ndarray] = {}
        points = None
        note = None
        if explain:
            from prom.explain import explain_rows, explained_columns

            primary = bt.models[bt.primary]
            read = explained_columns(primary)
            try:
                ex = explain_rows(
                    primary,
                    X if read is None else rows.select(treatments, tuple(read)),
                    output="log_odds",
                    group=True,
                    groups=bt.entry.explain_groups,
                    columns=columns,
                )
            except ValueError as e:  # e.g. a bundle saved before design means were
                note = f"{bt.name}: no explanation ({e})"  # kept, or AdditivityError
            else:
                points = ex.to_probability_points(calibrated=True)
                pred = points.prediction
                probs[bt.primary] = (
                    pred[list(points.classes or ())].to_numpy(dtype=float)
                    if points.is_multiclass
                    else np.column_stack(
                        [1 - pred.to_numpy(dtype=float), pred.to_numpy(dtype=float)]
                    )
                )
        for m in order:
            if m not in probs:
                probs[m] = np.asarray(bt.models[m].predict_proba_columns(columns))
        if note:
            notes.append(note)
        return probs, points

    def _binary(
        self,
        t: _Task,
        rows: PatientRows,
        patient: Patient,
        treatments,
        explain: bool,
        notes: list[str],
    ) -> list[OutcomeRow]:
        bt = self.bundle.tasks[t.name]
        definition = bt.entry.definition
        if not isinstance(definition, McidDefinition):
            raise TypeError(f"task {t.name}: an MCID or TFESI task needs an MCID definition")
        baseline = bt.baseline if bt.baseline in bt.models else None
        why = self._withhold_reason(t, patient)
        if why is not None:
            return [
                OutcomeRow(t.name, t.outcome, tr, definition, bt.primary, baseline, withheld=why)
                for tr in treatments
            ]
        probs, points = self._probabilities(bt, rows, treatments, explain, notes)
        answers: list[dict[str, ModelAnswer]] = [{} for _ in treatments]
        for m, proba in probs.items():
            p = proba[:, 1]
            ev = t.evidence.get(m)
            lo, hi = calibration_range(p, ev) if ev is not None else (None, None)
            for i in range(len(treatments)):
                answers[i][m] = ModelAnswer(
                    m,
                    float(p[i]),
                    None if lo is None else float(lo[i]),
                    None if hi is None else float(hi[i]),
                )
        return [
            OutcomeRow(
                t.name,
                t.outcome,
                tr,
                definition,
                bt.primary,
                baseline,
                answers=answers[i],
                explanation=points,
                explanation_row=i,
            )
            for i, tr in enumerate(treatments)
        ]

    def _triage(self, t: _Task, rows: PatientRows, explain: bool, notes: list[str]) -> TriageResult:
        bt = self.bundle.tasks[t.name]
        baseline = bt.baseline if bt.baseline in bt.models else None
        probs, points = self._probabilities(bt, rows, (None,), explain, notes)
        out = {
            m: {str(c): float(v) for c, v in zip(bt.models[m].classes_, p[0], strict=True)}
            for m, p in probs.items()
            if m in (bt.primary, baseline)
        }
        classes = tuple(str(c) for c in bt.models[bt.primary].classes_)
        return TriageResult(classes, bt.primary, baseline, out, None, explanation=points)

    def _rule(self, patient: Patient) -> RuleSuggestion | None:
        v = patient.values
        if patient.region == "cervical":
            return None if v.get("mjoa_0m") is None else cervical_triage_rule(v["mjoa_0m"])
        need = ("odi_0m", "nrs_leg_0m", "nrs_back_0m")
        if any(v.get(c) is None for c in need):
            return None
        return lumbar_triage_rule(v["odi_0m"], v["nrs_leg_0m"], v["nrs_back_0m"])

    def rule_missing(self, patient: Patient) -> str | None:
        """Why the rule gives no suggestion for this patient, or ``None``."""
        from prom.calculator.inputs import field_label

        need = (
            ("mjoa_0m",)
            if patient.region == "cervical"
            else ("odi_0m", "nrs_leg_0m", "nrs_back_0m")
        )
        absent = [field_label(c) for c in need if patient.values.get(c) is None]
        return f"the rule needs {', '.join(absent)}" if absent else None

    def _range_warnings(self, used: list[_Task], patient: Patient) -> list[RangeWarning]:
        """Entries outside the primary models' training ranges (one warning per entry and
        side, naming the models concerned and their bounds), or missing where no training
        row was missing (one warning per entry, with the value the models use instead:
        the training median, or no category); then entries inside a model's range but in
        its tail (one warning per entry and tail, naming the models concerned and their
        percentiles). ``used``: the tasks that predict for this patient."""
        from prom.calculator.inputs import field_label
        from prom.calculator.tails import (
            assumed_text,
            beyond_message,
            missing_message,
            range_message,
            tail_message,
        )
        from prom.models.ranges import Finding, NumericRange

        found: dict[tuple[str, str, str], list[str]] = {}
        missing: dict[str, tuple[list[str], list[float | None]]] = {}
        beyond: dict[tuple[str, Any], tuple[list[str], list[float]]] = {}
        tails: dict[tuple[str, Any], tuple[list[str], list[float]]] = {}
        for t in used:
            bt = self.bundle.tasks[t.name]
            ranges = bt.models[bt.primary].preprocessor_.training_summaries()
            for col, r in ranges.items():
                if col == "treatment":
                    continue
                v = patient.values.get(col)
                if v is None and r.check(v) is Finding.MISSING:
                    hit_m = missing.setdefault(col, ([], []))
                    hit_m[0].append(t.outcome)
                    hit_m[1].append(r.median if isinstance(r, NumericRange) else None)
                    continue
                if isinstance(r, NumericRange) and v is not None and not r.is_empty:
                    side = r.check(v)
                    if side is not None and side.name in ("BELOW", "ABOVE"):
                        hit = beyond.setdefault((col, side), ([], []))
                        hit[0].append(t.outcome)
                        hit[1].append(float(r.min if side.name == "BELOW" else r.max))  # type: ignore[arg-type]
                        continue
                msg = range_message(field_label(col), col, v, r)
                if msg:
                    found.setdefault((col, msg, "range"), []).append(t.outcome)
                elif isinstance(r, NumericRange) and (finding := r.tail(v)) is not None:
                    hit = tails.setdefault((col, finding), ([], []))
                    hit[0].append(t.outcome)
                    cut = r.p01 if finding.name == "LOW_TAIL" else r.p99
                    hit[1].append(float("nan") if cut is None else cut)  # a tail has its cut
        out = [
            RangeWarning(col, msg, tuple(dict.fromkeys(tasks)), kind)
            for (col, msg, kind), tasks in found.items()
        ]
        for col, (tasks, medians) in missing.items():
            out.append(
                RangeWarning(
                    col,
                    missing_message(field_label(col), col, medians),
                    tuple(dict.fromkeys(tasks)),
                    "missing",
                    assumed=assumed_text(col, medians),
                )
            )
        for (col, side), (tasks, bounds) in beyond.items():
            msg = beyond_message(field_label(col), patient.values[col], side, bounds)
            out.append(RangeWarning(col, msg, tuple(dict.fromkeys(tasks)), "range"))
        for (col, finding), (tasks, cuts) in tails.items():
            msg = tail_message(field_label(col), patient.values[col], finding, cuts)
            out.append(RangeWarning(col, msg, tuple(dict.fromkeys(tasks)), "tail"))
        return out
