"""What a scoring run reads, checks and computes, decided once from the bundle and the header.

:func:`plan_layout` looks only at the bundle and the input's column names (after the
column mapping) and decides, before any row is read:

- which input columns to read (nothing else is parsed: a registry table may have hundreds);
- which contract columns are checked row by row — a problem there quarantines the row:
  the id, every predictor of every task's primary model, the sources of derived
  predictors (``index_level`` and the per-level ``img_*`` columns behind ``img_index_*``),
  the PROM items a baseline score is computed from, and the columns that define a
  built-in task's population (``region``, ``treatment``, …);
- which PROM scores are computed from items on the way in (when all of an instrument's
  item columns are present they are used, even if a score column is present too);
- which outcome columns are read for the observed-vs-expected check — leniently: a bad
  outcome value is ignored (counted), never a reason to withhold a row's prediction.

A column the models need and the input lacks stops the run here, naming the column and
the task: imputing a whole column would silently change every prediction.

:class:`Layout` and :class:`Options` are plain data (shipped to Dask workers);
:func:`realise` turns them into a :class:`ScoringPlan` holding the loaded models.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from prom.bundle import Bundle, ClassifierTaskEntry, SurvivalTaskEntry, TaskEntry
from prom.errors import MissingColumnError, PromError
from prom.outcomes import ClassDefinition, ColumnDefinition, McidDefinition
from prom.score.id_column import ID_COLUMN, id_column_hint

__all__ = [
    "ScoreError",
    "Options",
    "Layout",
    "TaskPlan",
    "ScoringPlan",
    "plan_layout",
    "realise",
    "ID_COLUMN",
    "PROVENANCE_COLUMNS",
]

PROVENANCE_COLUMNS = ("bundle_id", "bundle_sha256", "prom_version", "scored_at")


class ScoreError(PromError, ValueError):
    """A scoring run cannot start or was stopped (``--strict``)."""


@dataclass(frozen=True)
class Options:
    """What the user asked for (plain data)."""

    bundle: str
    bundle_id: str
    manifest_sha256: str
    scored_at: str
    prom_version: str
    mapping: dict | None = None  # the parsed mapping YAML
    mapping_origin: str = "<dict>"
    reasons: bool = False
    reasons_above: float | None = None
    reasons_method: str = "exact"  # "exact" TreeSHAP, or "approx" (XGBoost: Saabas)
    top_k: int = 3
    strict: bool = False
    batch_rows: int = 65536
    trust_store: str | None = None  # the trust store the bundle was checked against
    allow_unsigned: bool = False  # the opt-out: an unsigned or untrusted bundle is used
    missing_values: tuple[str, ...] = ()  # declared markers of a missing value (besides "")
    id_note: str | None = None  # which column keys the rows when it is not patient_id


@dataclass(frozen=True)
class Layout:
    """Columns to read, check and compute (contract names unless said otherwise)."""

    read: tuple[str, ...]  # source (input) names, in input order
    text: tuple[str, ...]  # source names read as text from a CSV
    checked: tuple[str, ...]  # row-checked: a problem quarantines the row
    outcome: tuple[str, ...]  # read for observed-vs-expected only (lenient)
    scores_from_items: tuple[tuple[str, str], ...]  # (instrument key, time point)
    predictors: tuple[str, ...]  # every model input column (img_index_* included)
    id_source: str = ID_COLUMN  # the input column the ids come from
    notes: tuple[str, ...] = ()  # what the layout decided, for the summary


@dataclass
class TaskPlan:
    """One task of the bundle as the scorer runs it."""

    name: str
    kind: str  # binary, multiclass or survival
    family: str
    model: Any
    classes: list
    predictors: list[str]
    population: dict[str, tuple[str, ...]]
    horizon: float | None
    outcome: dict | None  # how to get an observed outcome, when possible
    columns: list[str]  # output probability columns
    time_unit: str | None = None  # survival: the unit of the horizon
    #: predictors whose reasons are summed (decided at fit time; the manifest's diagnostics)
    explain_groups: tuple[tuple[str, ...], ...] = ()


@dataclass
class ScoringPlan:
    options: Options
    layout: Layout
    tasks: list[TaskPlan]
    mapping: Any  # ColumnMapping restricted to the columns read
    duplicates: Any = None  # prom.score.checks.DuplicateIds of the input

    @property
    def token(self) -> str:
        return plan_token(self.options, self.layout, self.duplicates)


def plan_token(options: Options, layout: Layout, duplicates) -> str:
    h = hashlib.sha256(
        json.dumps([asdict(options), asdict(layout)], sort_keys=True, default=str).encode()
    )
    if duplicates is not None:
        h.update(np.ascontiguousarray(duplicates.rows, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(duplicates.hashes, dtype=np.uint64).tobytes())
    return h.hexdigest()


# --- the mapping ----------------------------------------------------------------------------


def load_mapping(mapping) -> tuple[dict | None, str]:
    """``(parsed dict, origin)`` from a YAML path, a dict or None (validated on the way)."""
    from prom.cohort.mapping import ColumnMapping

    if mapping is None:
        return None, "<none>"
    if isinstance(mapping, (str, Path)):
        import yaml

        p = Path(mapping)
        ColumnMapping.from_yaml(p)  # every check of the file format, with its messages
        return yaml.safe_load(p.read_text(encoding="utf-8")), p.name
    if isinstance(mapping, dict):
        ColumnMapping.from_dict(mapping)
        return mapping, "<dict>"
    raise TypeError(
        f"mapping must be a path to a YAML file or a dict, got {type(mapping).__name__}"
    )


def column_mapping(mapping: dict | None, origin: str, read=None):
    """The :class:`~prom.cohort.mapping.ColumnMapping` of a parsed mapping; with ``read``,
    restricted to the rules whose source is read (nothing dropped, other columns kept)."""
    from prom.cohort.mapping import ColumnMapping

    if mapping is None:
        return None
    m = ColumnMapping.from_dict(mapping, origin=origin)
    if read is None:
        return m
    keep = set(read)
    return ColumnMapping(
        rules=tuple(r for r in m.rules if r.source in keep),
        drop=(),
        keep_unmapped=True,
        origin=m.origin,
    )


# --- the layout -------------------------------------------------------------------------------


def _score_owner(column: str):
    """``(instrument, time point)`` whose score is ``column``, or None."""
    from prom.instruments import INSTRUMENTS
    from prom.naming import TIMEPOINTS

    for inst in INSTRUMENTS.values():
        for tp in TIMEPOINTS:
            if inst.score_column(tp) == column:
                return inst, tp
    return None


def model_predictors(model) -> list[str]:
    """The input columns a fitted model reads, by name."""
    if getattr(model, "predictors", None) is not None:
        return list(model.predictors)
    return [str(c) for c in model.feature_names_in_]


def _primary_models(bundle: Bundle) -> list[tuple[str, Any, TaskEntry]]:
    return [(name, t.models[t.primary], t.entry) for name, t in bundle.tasks.items()]


def plan_layout(
    bundle, header, mapping: dict | None = None, mapping_origin: str = "<dict>"
) -> Layout:
    """Decide what to read and check (see the module docstring); refuse missing columns."""
    from prom.cohort.contract import COHORT_CONTRACT
    from prom.cohort.derived import INDEX_PREFIX, is_index_imaging_column
    from prom.naming import DISC_LEVELS, imaging_column

    header = [str(c) for c in header]
    source_of = {c: c for c in header}
    if mapping is not None:
        m = column_mapping(mapping, mapping_origin)
        mapped, _ = m.apply(pd.DataFrame({c: pd.Series(dtype=object) for c in header}))
        targets = m.targets
        source_of = {targets.get(c, c): c for c in header if c not in set(m.drop)}
        available = set(mapped.columns)
    else:
        available = set(header)
    notes: list[str] = []
    checked: list[str] = []
    outcome: list[str] = []
    from_items: list[tuple[str, str]] = []
    lacking: dict[str, tuple[list[str], list[str]]] = {}  # column → (tasks, why)

    def need(col: str) -> None:
        if col not in checked:
            checked.append(col)

    def want(col: str) -> None:  # an outcome column: read if not read already
        if col not in checked and col not in outcome:
            outcome.append(col)

    def lack(col: str, task: str | None, why: str = "") -> None:
        tasks, whys = lacking.setdefault(col, ([], []))
        if task is not None and task not in tasks:
            tasks.append(task)
        if why and why not in whys:
            whys.append(why)

    def items_of(col: str):
        owner = _score_owner(col)
        if owner is None:
            return None
        inst, tp = owner
        items = list(inst.item_columns(tp).values())
        if items == [col]:
            return None  # NRS: the single item is the score
        # the columns the instrument owns decide whether its form was collected (COMI
        # borrows its pain items from the NRS columns), as in prom.instruments.score_table
        own = [inst.item_columns(tp)[it.name] for it in inst.items if it.column is None]
        return inst, tp, items, own

    def resolve_score(col: str, task: str, strict: bool) -> bool:
        """Read ``col`` or the items it is computed from; False when neither is there."""
        spec = items_of(col)
        if spec is not None:
            inst, tp, items, own = spec
            if all(i in available for i in items):
                for i in items:
                    (need if strict else want)(i)
                if (inst.key, tp) not in from_items:
                    from_items.append((inst.key, tp))
                    if col in available:  # read too: where the items give no score
                        want(col)
                        notes.append(
                            f"{col} computed from its {len(items)} item columns; the input's "
                            f"{col} is used where they give no score (prom.instruments.given)"
                        )
                return True
            if any(i in available for i in own) and strict:
                some = [i for i in items if i in available]
                lack(
                    col,
                    task,
                    f"{len(some)} of its {len(items)} item columns are present; "
                    f"missing {', '.join(i for i in items if i not in available)}",
                )
                return False
        if col in available:
            (need if strict else want)(col)
            return True
        if strict:
            lack(col, task, "or its item columns" if spec else "")
        return False

    predictors: list[str] = []
    for name, model, entry in _primary_models(bundle):
        for p in model_predictors(model):
            if p not in predictors:
                predictors.append(p)
            if p in available and items_of(p) is None:
                need(p)
            elif is_index_imaging_column(p) and p not in available:
                feature = p[len(INDEX_PREFIX) :]
                for s in ["index_level"] + [imaging_column(lv, feature) for lv in DISC_LEVELS]:
                    if s in available:
                        need(s)
                    else:
                        lack(s, name, f"{p} is read at the index level")
            elif _score_owner(p) is not None:
                resolve_score(p, name, strict=True)
            else:
                lack(p, name)
        for col in entry.population():
            if col in available:
                need(col)
            else:
                lack(col, name, "it defines who the task's model is for")
    if ID_COLUMN not in available:
        lack(ID_COLUMN, None, "every output row is keyed by it")
    if lacking:
        lines = "; ".join(
            _shown(c)
            + " ("
            + "; ".join(([f"task{'s' if len(t) > 1 else ''} {', '.join(t)}"] if t else []) + w)
            + ")"
            for c, (t, w) in lacking.items()
        )
        raise MissingColumnError(
            f"the input lacks column(s) the bundle needs: {lines}. The input has "
            f"{len(available)} column(s); map your own names onto these with a column "
            "mapping (--mapping), or supply the columns."
            + _spelling_hint(lacking, available)
            + (id_column_hint(header) if ID_COLUMN in lacking and mapping is None else "")
            + " Nothing was scored."
        )
    need(ID_COLUMN)
    checked.remove(ID_COLUMN)
    checked.insert(0, ID_COLUMN)

    for name, _, entry in _primary_models(bundle):  # outcomes: optional, lenient
        d = entry.definition
        if isinstance(d, McidDefinition):
            for col in d.outcome_columns:
                resolve_score(col, name, strict=False)
        elif isinstance(d, (ClassDefinition, ColumnDefinition)) and d.column in available:
            want(d.column)

    reads = list(checked + outcome)
    read_sources = [source_of[c] for c in reads]
    order = {c: i for i, c in enumerate(header)}
    read_sources = sorted(dict.fromkeys(read_sources), key=order.__getitem__)
    text = [
        source_of[c]
        for c in reads
        if c in COHORT_CONTRACT and COHORT_CONTRACT[c].dtype in ("string", "category")
    ]
    if mapping is not None:
        text += [s for s in m.text_sources() if s in read_sources]
    return Layout(
        read=tuple(read_sources),
        text=tuple(dict.fromkeys(text)),
        checked=tuple(checked),
        outcome=tuple(outcome),
        scores_from_items=tuple(from_items),
        predictors=tuple(predictors),
        id_source=source_of[ID_COLUMN],
        notes=tuple(notes),
    )


# --- realising a plan -----------------------------------------------------------------------

_CACHE: dict[str, ScoringPlan] = {}
_LOCK = threading.Lock()


def realise(options: Options, layout: Layout, duplicates=None, bundle=None) -> ScoringPlan:
    """A :class:`ScoringPlan` with the bundle's primary models loaded.

    Without ``bundle`` the bundle at ``options.bundle`` is loaded (and verified, signature
    and trust included, against ``options.trust_store``) and must be the one the run was
    planned with (same manifest SHA-256). Plans are cached per
    process, so each Dask worker loads a bundle once.
    """
    if duplicates is None:
        from prom.score.checks import DuplicateIds

        duplicates = DuplicateIds()
    key = plan_token(options, layout, duplicates)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if bundle is None:
            from prom.bundle import load_bundle

            bundle = load_bundle(
                options.bundle,
                trust_store=options.trust_store,
                allow_unsigned=options.allow_unsigned,
            )
        sha = manifest_sha256(bundle.path)
        if sha != options.manifest_sha256:
            raise ScoreError(
                f"the bundle at {options.bundle} changed during the run (manifest "
                f"SHA-256 {sha[:12]}…, planned with {options.manifest_sha256[:12]}…)"
            )
        plan = ScoringPlan(
            options=options,
            layout=layout,
            tasks=_tasks(bundle),
            mapping=column_mapping(options.mapping, options.mapping_origin, layout.read),
            duplicates=duplicates,
        )
        _CACHE.clear()  # one run at a time per process: keep memory to one bundle
        _CACHE[key] = plan
        return plan


def manifest_sha256(path) -> str:
    from prom.bundle import MANIFEST

    return hashlib.sha256((Path(path) / MANIFEST).read_bytes()).hexdigest()


def _tasks(bundle) -> list[TaskPlan]:
    out = []
    for name, model, entry in _primary_models(bundle):
        # The scorer flags unseen category levels per row (core._Flags); the preprocessor's
        # batch-level warning would say the same once per batch. Switched off on this
        # plan's own copy of the model (loaded for the run), never on a caller's model.
        model.preprocessor_.handle_unknown = "ignore"
        kind = entry.kind
        classes = list(entry.classes) if isinstance(entry, ClassifierTaskEntry) else []
        if kind == "multiclass":
            columns = [f"p_{name}_{c}" for c in classes]
        else:
            columns = [f"p_{name}"]
        d = entry.definition
        outcome: dict[str, Any] | None = None
        if kind == "binary" and isinstance(d, McidDefinition):
            outcome = {"type": "mcid", "threshold": d.threshold, "columns": list(d.outcome_columns)}
        elif kind == "binary" and isinstance(d, ColumnDefinition):
            outcome = {"type": "column", "columns": [d.column]}
            if d.event_value is not None:  # a two-valued column: which value is the event
                outcome |= {"event_value": d.event_value, "other_value": d.other_value}
        elif kind == "multiclass" and isinstance(d, ClassDefinition):
            outcome = {"type": "class", "columns": [d.column]}
            if d.user_column:  # classes as text, however the column was read
                outcome["as_text"] = True
        predictors = model_predictors(model)
        out.append(
            TaskPlan(
                name=name,
                kind=kind,
                family=bundle.tasks[name].primary,
                model=model,
                classes=classes,
                predictors=predictors,
                population=entry.population(),
                horizon=entry.horizon if isinstance(entry, SurvivalTaskEntry) else None,
                outcome=outcome,
                columns=columns,
                time_unit=entry.time_unit if isinstance(entry, SurvivalTaskEntry) else None,
                explain_groups=entry.explain_groups,
            )
        )
    return out


def _shown(column: str) -> str:
    """A column's name as messages print it: quoted when spaces begin or end it."""
    return repr(column) if column != column.strip() else column


def _spelling_hint(lacking: Mapping[str, Any], available: set[str]) -> str:
    """`` Differing only in spaces or capitals: ' smoking' (for smoking); …`` — input
    columns that differ from a lacking one only in surrounding spaces or capitals (a
    spreadsheet's header), or ''."""
    by_key: dict[str, list[str]] = {}
    for h in available:
        if isinstance(h, str):
            by_key.setdefault(h.strip().casefold(), []).append(h)
    found = [
        f"{h!r} (for {_shown(c)})"
        for c in lacking
        for h in sorted(by_key.get(str(c).strip().casefold(), []))
        if h != c
    ]
    if not found:
        return ""
    return (
        f" Differing only in spaces or capitals: {', '.join(found)}; rename the column or "
        "map it (--mapping)."
    )
