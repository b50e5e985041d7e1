# Longer than 500 lines: the steps of scoring one batch share its private row state (_Rows, _Flags); split the calibration and reasons steps out when it grows further
"""The scoring function: one batch of input rows in, output rows + quarantine + totals out.

:func:`score_batch` is all the work of a run on one slice of the input; both engines call
it (locally in a loop, on Dask workers over Parquet pieces) and only concatenate its
results in input order. For one batch it

1. applies the column mapping (restricted to the columns read);
2. checks the planned columns row by row against the contract, and every id against the
   input's duplicated ids — a row with any problem goes to quarantine with one record per
   problem (row number counted from 1, its line in a CSV file, column, check, value,
   expected), or, with ``strict``, stops the run; a CSV row whose structure is broken
   (:mod:`prom.cohort.csv_reader`) goes there with its structural problem alone (it holds
   no values to check);
3. converts the good rows' columns to the types the models expect from what the checks
   parsed (each column is parsed once), ignores bad outcome values (counted), scores PROM
   items into scores, derives ``img_index_*``;
4. per task: the rows of its population get the primary model's calibrated probability
   (risk by the horizon for a survival task), the others none; out-of-training-range
   flags and training-tail flags; top-k reasons where asked; drift and observed-vs-expected totals.

The tasks of a bundle mostly read the same predictors, so step 4 reads them from one
:class:`~prom.score.drift.BatchColumns` per batch: each column is converted to floats or
level codes once and every task's preprocessor
(:meth:`~prom.models.preprocess.Preprocessor.transform_columns`), flags and drift counts
share it. The probabilities are the models' own ``predict_proba`` to the bit (tested).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

from prom.cohort.column_checks import empty_rows
from prom.cohort.missing_values import declare_missing
from prom.number_forms import decimal_comma_cells
from prom.score.checks import check_ids, check_rows, coerce_columns, id_hashes
from prom.score.drift import BatchColumns, Calibration, TaskDrift
from prom.score.missing import count_imputed, unreadable_numbers
from prom.score.observed import add_observed
from prom.score.plan import ID_COLUMN, PROVENANCE_COLUMNS, ScoreError, ScoringPlan, TaskPlan
from prom.score.quarantine import (
    QUARANTINE_COLUMNS,
    in_order,
    quarantine_frame,
    strict_stop,
    with_empty_rows,
    with_structure,
)
from prom.score.source import with_columns

__all__ = ["BatchResult", "RunStats", "score_batch", "output_schema", "QUARANTINE_COLUMNS"]


@dataclass
class RunStats:
    """Totals of a run (or of one batch), mergeable in input order."""

    read: int = 0
    scored: int = 0
    quarantined: int = 0
    problems: int = 0
    by_check: Counter = field(default_factory=Counter)  # check → problems
    by_column: Counter = field(default_factory=Counter)  # column → rows quarantined
    tasks: dict = field(default_factory=dict)  # task → Counter
    flags: Counter = field(default_factory=Counter)  # flag → rows
    rows_flagged: int = 0
    tail_flags: Counter = field(default_factory=Counter)  # tail flag → rows
    rows_in_tail: int = 0
    proms: dict = field(default_factory=dict)  # score column → Counter
    outcome_ignored: Counter = field(default_factory=Counter)
    mapping: Counter = field(default_factory=Counter)  # (action, source, target) → n
    drift: dict = field(default_factory=dict)  # task → TaskDrift
    calibration: dict = field(default_factory=dict)  # task → Calibration
    declared_missing: Counter = field(default_factory=Counter)  # column → cells (markers)
    #: column → values refused as not numbers that are numbers written with a decimal comma
    decimal_commas: Counter = field(default_factory=Counter)
    imputed: dict = field(default_factory=dict)  # task → Counter: column → values imputed

    @classmethod
    def for_plan(cls, plan: ScoringPlan) -> RunStats:
        s = cls()
        for t in plan.tasks:
            s.tasks[t.name] = Counter(scored=0, not_in_population=0, reasons=0)
            s.drift[t.name] = TaskDrift.for_model(t.name, t.model)
            if t.outcome is not None:
                s.calibration[t.name] = Calibration(t.name, t.classes)
        return s

    def merge(self, other: RunStats) -> None:
        for name in ("read", "scored", "quarantined", "problems", "rows_flagged", "rows_in_tail"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in (
            "by_check",
            "by_column",
            "flags",
            "tail_flags",
            "outcome_ignored",
            "mapping",
            "declared_missing",
            "decimal_commas",
        ):
            getattr(self, name).update(getattr(other, name))
        for k, v in other.imputed.items():
            self.imputed.setdefault(k, Counter()).update(v)
        for k, v in other.tasks.items():
            self.tasks.setdefault(k, Counter()).update(v)
        for k, v in other.proms.items():
            self.proms.setdefault(k, Counter()).update(v)
        for k, v in other.drift.items():
            self.drift[k].merge(v)
        for k, v in other.calibration.items():
            self.calibration[k].merge(v)


@dataclass
class BatchResult:
    table: pa.Table
    quarantine: pd.DataFrame
    stats: RunStats


# --- output schema --------------------------------------------------------------------------


def reason_columns(task: TaskPlan, k: int) -> list[tuple[str, pa.DataType]]:
    cols = [(f"{task.name}_reason_{i}", pa.string()) for i in range(1, k + 1)]
    cols += [(f"{task.name}_reason_{i}_points", pa.float64()) for i in range(1, k + 1)]
    if task.kind == "multiclass":
        cols.append((f"{task.name}_reasons_for", pa.string()))
    return cols


def output_schema(plan: ScoringPlan) -> pa.Schema:
    """Columns of the scored output, the same for every batch and both engines."""
    fields = [pa.field("row", pa.int64()), pa.field(ID_COLUMN, pa.string())]
    for t in plan.tasks:
        fields += [pa.field(c, pa.float64()) for c in t.columns]
    if _wants_reasons(plan):
        for t in plan.tasks:
            fields += [pa.field(n, ty) for n, ty in reason_columns(t, _k(plan, t))]
    fields.append(pa.field("out_of_range", pa.string()))
    fields.append(pa.field("in_training_tail", pa.string()))
    fields += [pa.field(c, pa.string()) for c in PROVENANCE_COLUMNS]
    return pa.schema(fields)


def _wants_reasons(plan: ScoringPlan) -> bool:
    return plan.options.reasons or plan.options.reasons_above is not None


def _k(plan: ScoringPlan, task: TaskPlan) -> int:
    return min(plan.options.top_k, len(task.predictors))


# --- the batch ------------------------------------------------------------------------------


def score_batch(
    raw: pd.DataFrame,
    first_row: int,
    plan: ScoringPlan,
    lines: np.ndarray | None = None,
    structure: tuple = (),
) -> BatchResult:
    """Score one batch whose first row is input row ``first_row`` (0-based).

    ``lines``: each row's line in a CSV file (None for other inputs); ``structure``: the
    :class:`~prom.cohort.csv_reader.StructureProblem` s of rows whose structure is broken
    (all missing in ``raw``): each is quarantined with that problem only.
    """
    n = len(raw)
    stats = RunStats.for_plan(plan)
    stats.read = n
    frame = raw.reset_index(drop=True)
    if plan.options.missing_values:  # declared markers: missing, counted (input names)
        frame, declared = declare_missing(
            frame, plan.options.missing_values, text_columns=plan.layout.text
        )
        stats.declared_missing.update(declared)
    if plan.mapping is not None:
        # a value a conversion cannot read stays as it is: its row is quarantined below
        frame, log = plan.mapping.apply(frame, keep_unconvertible=True)
        for step in log.steps:
            if step.n_values:
                stats.mapping[(step.action, step.source, step.target or "")] += step.n_values
    rows = np.arange(first_row + 1, first_row + n + 1, dtype=np.int64)
    ids, id_problems = check_ids(frame[ID_COLUMN])
    parsed: dict = {}
    problems = in_order(
        [
            id_problems,
            check_rows(frame, plan.layout.checked[1:], parsed),
            unreadable_numbers(frame, plan),
            _duplicates(ids, first_row, plan),
        ],
        plan.layout.checked,
    )
    if plan.mapping is not None and len(problems):
        problems = _as_in_the_file(problems, raw.reset_index(drop=True), plan.mapping)
    problems = with_empty_rows(problems, empty_rows(raw))  # one problem each, not one a column
    if structure:  # after: a broken row's placeholder is empty too
        problems = with_structure(problems, structure, first_row)
    bad = np.zeros(n, dtype=bool)
    bad[problems["position"].to_numpy(dtype=np.int64)] = True
    if plan.options.strict and bad.any():
        raise strict_stop(problems, rows, lines)
    quarantine = quarantine_frame(problems, rows, lines, ids)
    stats.quarantined = int(bad.sum())
    stats.problems = len(problems)
    stats.by_check.update(problems["check"].value_counts().to_dict())
    typed = problems[problems["check"] == "type"]
    if len(typed):
        comma = typed.loc[decimal_comma_cells(typed["value"]), "column"]
        stats.decimal_commas.update(comma.value_counts().to_dict())
    per_column = problems.drop_duplicates(["position", "column"])["column"]
    stats.by_column.update(per_column[per_column != ""].value_counts().to_dict())

    good = np.flatnonzero(~bad)
    stats.scored = int(good.size)
    g = coerce_columns(frame, plan.layout.checked[1:], parsed)  # each column parsed once
    g[ID_COLUMN] = ids
    if bad.any():
        g = g.iloc[good].reset_index(drop=True)
    g = _outcomes(g, plan, stats)
    g = _scores_from_items(g, plan, stats)
    derived = _index_imaging(g, plan)

    columns: dict[str, object] = {"row": rows[good], ID_COLUMN: ids[good]}
    flags, tails = _Flags(good.size), _Flags(good.size, tails=True)
    shared = BatchColumns(g, derived)  # each column converted once for every task
    groups: dict[tuple, _Rows] = {}  # population → its rows: one subset per population
    for task in plan.tasks:
        key = tuple(sorted(task.population.items()))
        if key not in groups:
            groups[key] = _Rows(shared, np.flatnonzero(_population(task, g)))
        columns.update(_score_task(task, groups[key], plan, stats, flags, tails))
    text, flagged = flags.text()
    columns["out_of_range"] = text
    stats.rows_flagged = flagged
    stats.flags.update(flags.counts())
    text, flagged = tails.text()
    columns["in_training_tail"] = text
    stats.rows_in_tail = flagged
    stats.tail_flags.update(tails.counts())
    p = plan.options
    provenance = (p.bundle_id, p.manifest_sha256, p.prom_version, p.scored_at)
    for name, value in zip(PROVENANCE_COLUMNS, provenance, strict=True):
        columns[name] = pa.array([value], pa.string()).take(np.zeros(good.size, np.int64))
    schema = output_schema(plan)
    table = pa.table(
        [
            columns[f.name]
            if isinstance(columns[f.name], pa.Array)
            else pa.array(columns[f.name], f.type, from_pandas=True)
            for f in schema
        ],
        schema=schema,
    )
    return BatchResult(table, quarantine, stats)


def _duplicates(ids: np.ndarray, first_row: int, plan: ScoringPlan) -> pd.DataFrame | None:
    """A problem record for every row whose id is used on several rows of the input (the
    rows the id pass found, confirmed by their id hashes)."""
    pos, counts, hashes = plan.duplicates.within(first_row, len(ids))
    if not pos.size:
        return None
    h, present = id_hashes(ids[pos])
    if not (present.all() and np.array_equal(h, hashes)):
        raise ScoreError(
            "the input changed during the run: the rows with duplicated ids "
            "are not where the id pass found them (was the input rewritten or "
            "its row order changed?)"
        )
    return pd.DataFrame(
        {
            "position": pos.astype(np.int64),
            "column": ID_COLUMN,
            "check": "duplicate_id",
            "value": [str(v) for v in ids[pos]],
            "expected": [
                f"a unique patient_id (this id is on {int(c)} rows of the input)" for c in counts
            ],
        }
    )


def _outcomes(g: pd.DataFrame, plan: ScoringPlan, stats: RunStats) -> pd.DataFrame:
    """Outcome columns: bad values become missing (counted), then typed."""
    cols = [c for c in plan.layout.outcome if c in g.columns]
    if not cols or not len(g):
        return g
    problems = check_rows(g, cols)
    if len(problems):
        g = g.copy()
        for col, pos in problems.groupby("column", sort=False)["position"]:
            values = g[col].to_numpy(dtype=object, copy=True)
            values[pos.to_numpy()] = np.nan
            g[col] = values
            stats.outcome_ignored[col] += int(pos.nunique())
    return coerce_columns(g, cols)


def _as_in_the_file(problems: pd.DataFrame, raw: pd.DataFrame, mapping) -> pd.DataFrame:
    """Problems of mapped columns with what the file holds: the value is the mapped one
    (what the contract checks); ``expected`` adds the source column and its value there,
    so the row can be found and mended in the file."""
    source = {r.target: r for r in mapping.rules if r.target != r.source or r.factor or r.offset}
    at = problems["column"].isin(list(source))
    if not at.any():
        return problems
    out = problems.copy()
    for i in np.flatnonzero(at.to_numpy()):
        rule = source[out.at[i, "column"]]
        if rule.source not in raw.columns:
            continue
        shown = _as_written(raw.at[int(out.at[i, "position"]), rule.source])
        converts = rule.factor is not None or rule.offset is not None
        how = ", converted" if converts and out.at[i, "check"] != "type" else ""
        out.at[i, "expected"] = f"{out.at[i, 'expected']} (the file's {rule.source}: {shown}{how})"
    return out


def _as_written(value) -> str:
    """A cell of the file as a quarantine entry quotes it: text in quotes, numbers plain."""
    if pd.isna(value):
        return "empty"
    if isinstance(value, str):
        return repr(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _scores_from_items(g: pd.DataFrame, plan: ScoringPlan, stats: RunStats) -> pd.DataFrame:
    from prom.instruments import get_instrument, score_table

    if not plan.layout.scores_from_items or not len(g):
        return g
    scores: dict[str, np.ndarray] = {}
    for key, tp in plan.layout.scores_from_items:
        inst = get_instrument(key)
        res = score_table(g, instruments=[inst], timepoints=[tp])
        col = inst.score_column(tp)
        v = res[col].to_numpy(dtype=float, na_value=np.nan)
        c = stats.proms.setdefault(col, Counter())
        c["from_items"] += int((~np.isnan(v)).sum())
        if col in g.columns:  # the input's own score beside its items
            v = _with_given(v, g[col].to_numpy(dtype=float, na_value=np.nan), inst, c)
        c["withheld"] += int(np.isnan(v).sum())
        scores[col] = v
    return with_columns(g, scores)


def _with_given(v: np.ndarray, given: np.ndarray, inst, c: Counter) -> np.ndarray:
    """The items' scores ``v`` with the input's own where the items give none
    (:func:`prom.instruments.given.reconcile`, the rule of every other command); ``c``
    counts what the rule did."""
    from prom.instruments.given import reconcile

    r = reconcile(v, given, inst.score_range)
    c["input_differs"] += int(r.differs.sum())
    c["as_given"] += int(r.kept.sum())
    c["input_unusable"] += int(r.unusable.sum())
    return r.values


def _index_imaging(g: pd.DataFrame, plan: ScoringPlan) -> dict[str, np.ndarray]:
    """``img_index_*`` predictors the input lacks, derived from ``index_level`` and the
    per-level columns (:mod:`prom.cohort.derived`)."""
    from prom.cohort.derived import INDEX_PREFIX, index_level_values, is_index_imaging_column

    absent = [
        c for c in plan.layout.predictors if is_index_imaging_column(c) and c not in g.columns
    ]
    if not absent:
        return {}
    return index_level_values(g, [c[len(INDEX_PREFIX) :] for c in absent])


class _Rows:
    """The rows of a batch in one task population: positions, and the sub-table made
    only when a frame is needed (survival models, outcomes, reasons)."""

    def __init__(self, shared: BatchColumns, at: np.ndarray):
        self.shared, self.at = shared, at
        self.whole = at.size == shared.n_rows
        self._frame = None

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            table = self.shared.table()
            self._frame = table if self.whole else table.iloc[self.at]
        return self._frame


def _population(task: TaskPlan, g: pd.DataFrame) -> np.ndarray:
    inside = np.ones(len(g), dtype=bool)
    for col, allowed in task.population.items():
        inside &= g[col].isin(allowed).to_numpy()
    return inside


def _score_task(
    task: TaskPlan,
    rows: _Rows,
    plan: ScoringPlan,
    stats: RunStats,
    flags: _Flags,
    tails: _Flags,
) -> dict:
    shared, at = rows.shared, rows.at
    n = shared.n_rows
    out: dict[str, object] = {}
    probs = np.full((n, len(task.columns)), np.nan)
    counter = stats.tasks[task.name]
    counter["scored"] += int(at.size)
    counter["not_in_population"] += int(n - at.size)
    if at.size:
        count_imputed(task, shared, None if rows.whole else at, stats)
        if task.kind == "survival":
            p = np.asarray(task.model.predict_risk(rows.frame, horizon=task.horizon), dtype=float)
            probs[at, 0] = p
        else:
            proba = task.model.predict_proba_columns(shared, None if rows.whole else at)
            probs[at] = proba if task.kind == "multiclass" else proba[:, 1:2]
        flags.add(task, shared, at, rows.whole)
        tails.add(task, shared, at, rows.whole)
        stats.drift[task.name].add(
            shared, None if rows.whole else at, group=tuple(sorted(task.population.items()))
        )
        o, acc = task.outcome, stats.calibration.get(task.name)  # acc: tasks with an outcome
        if o is not None and acc is not None and all(c in shared for c in o["columns"]):
            unknown = add_observed(task, o, rows, probs[at], acc)
            if unknown:
                stats.outcome_ignored[o["columns"][0]] += unknown
    for j, c in enumerate(task.columns):
        out[c] = probs[:, j]
    if _wants_reasons(plan):
        out.update(_reasons(task, rows, probs, plan, counter))
    return out


def _reasons(
    task: TaskPlan, rows: _Rows, probs: np.ndarray, plan: ScoringPlan, counter: Counter
) -> dict:
    from prom.score.reasons import reasons_method_of, top_k_reasons

    k = _k(plan, task)
    n = len(probs)
    names = np.full((n, k), None, dtype=object)
    points = np.full((n, k), np.nan)
    cls = np.full(n, None, dtype=object)
    at = rows.at
    want = np.zeros(n, dtype=bool)
    want[at] = True
    if plan.options.reasons_above is not None and not plan.options.reasons:
        top = probs.max(axis=1) if task.kind == "multiclass" else probs[:, 0]
        with np.errstate(invalid="ignore"):
            want &= top >= plan.options.reasons_above
    pos = np.flatnonzero(want)
    if pos.size:
        local = np.searchsorted(at, pos)  # positions within the population's rows
        r = top_k_reasons(
            task.model,
            rows.frame.iloc[local],
            k,
            reasons_method_of(task, plan.options.reasons_method),
            task.explain_groups,
        )
        names[pos], points[pos] = r.variables, r.points
        if r.classes is not None:
            cls[pos] = r.classes
        counter["reasons"] += int(pos.size)
    out: dict[str, object] = {}
    for i in range(k):
        out[f"{task.name}_reason_{i + 1}"] = names[:, i]
        out[f"{task.name}_reason_{i + 1}_points"] = points[:, i]
    if task.kind == "multiclass":
        out[f"{task.name}_reasons_for"] = cls
    return out


class _Flags:
    """Out-of-training-range flags of one batch, united over the tasks that scored a row.

    ``<predictor><min`` / ``<predictor>>max``: a number outside the training rows' range
    of the task's model; ``<predictor>:unseen``: a category level its training rows never
    had; ``<predictor>:missing``: a missing value where the training rows had none (the
    model imputes a value it never learned to be unsure about). Flags are not errors — the
    row is scored, and the flag says the model extrapolates.

    With ``tails=True`` the flags are the training tails instead (``<predictor><p01`` /
    ``<predictor>>p99``: a number inside the training range but below its 1st or above
    its 99th percentile; :meth:`~prom.models.ranges.NumericRange.tail_findings`), kept in
    a column of their own since they are no extrapolation.
    """

    def __init__(self, n: int, *, tails: bool = False):
        self.n = n
        self.tails = tails
        self.masks: dict[str, np.ndarray] = {}

    def _mark(self, label: str, hit: np.ndarray, at: np.ndarray, whole: bool) -> None:
        """Flag ``label`` on the rows ``at[hit]`` (``hit``: a mask over ``at``)."""
        if not hit.any():
            return
        if label not in self.masks:
            self.masks[label] = np.zeros(self.n, dtype=bool)
        if whole:  # ``at`` is every row: the mask is the rows
            self.masks[label] |= hit
        else:
            self.masks[label][at[hit]] = True

    def add(self, task: TaskPlan, columns: BatchColumns, at: np.ndarray, whole: bool) -> None:
        """Flag the rows ``at`` of a batch that ``task``'s model extrapolates for (the checks
        are :mod:`prom.models.ranges`'; a flag is ``Finding.flag(column)``)."""
        from prom.models.ranges import NumericRange

        for col, summary in task.model.preprocessor_.training_summaries().items():
            if isinstance(summary, NumericRange):
                if summary.is_empty:  # missing in every training row: no range
                    continue
                v = columns.numeric(col)
            elif self.tails:  # categories have no tails
                continue
            else:
                v = columns.codes(col, summary.categories)
            v = v if whole else v[at]
            found = (
                summary.tail_findings(v)
                if self.tails and isinstance(summary, NumericRange)
                else summary.findings(v)
            )
            for finding, hit in found.items():
                self._mark(finding.flag(col), hit, at, whole)

    def counts(self) -> dict[str, int]:
        return {k: int(m.sum()) for k, m in self.masks.items()}

    def text(self) -> tuple[np.ndarray, int]:
        """Per row ``;``-joined flags (sorted), ``""`` when none; and the rows flagged."""
        out = np.full(self.n, "", dtype=object)
        if not self.masks:
            return out, 0
        labels = sorted(self.masks)
        m = np.column_stack([self.masks[k] for k in labels])
        hit = np.flatnonzero(m.any(axis=1))
        if hit.size:  # one string per distinct pattern of flags, not per row
            packed = np.packbits(m[hit], axis=1)  # (rows, bytes)
            keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
            _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
            text = np.asarray(
                [";".join(labels[j] for j in np.flatnonzero(m[hit[i]])) for i in first],
                dtype=object,
            )
            out[hit] = text[inverse.ravel()]
        return out, int(hit.size)
