"""``score_file``: a whole scoring run, from bundle and input to output, quarantine, summary.

Order of a run — everything that can refuse the run does so before any row is read:

1. load the bundle, verifying its signature against the trust store and every file's
   SHA-256 (a tampered, foreign, unsigned or untrusted bundle is refused:
   :class:`~prom.bundle.BundleError`; ``allow_unsigned`` accepts an unsigned or untrusted
   one, and the summary records how the bundle's origin was established);
2. read the input's column names, check the column mapping against them, plan what to
   read and check (:func:`prom.score.plan.plan_layout`; a column the models need and the
   input lacks is refused);
3. one pass over the id column only, to find ids used on more than one row;
4. score batch by batch (local engine, or Dask over Parquet pieces), appending output and
   quarantine records under temporary names;
5. write the summary, then rename quarantine, summary and — last — the output.

The outputs are locked from before step 3 until after the renames
(:class:`~prom.score.output.OutputSet`): a second run on the same output refuses with
:class:`~prom.score.output.OutputInUseError` and leaves nothing behind.

Scoring time: every output row carries the run's ``scored_at`` (UTC, ISO 8601, whole
seconds). It is the ``scored_at`` argument when given, else the time the run started;
the summary records it, and re-running with ``--scored-at <that value>`` reproduces the
output byte for byte.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np

from prom.errors import MissingColumnError
from prom.options import REASONS_METHOD, check_option
from prom.score.checks import DuplicateIds, check_ids, find_duplicates, id_hashes
from prom.score.core import QUARANTINE_COLUMNS, RunStats, output_schema
from prom.score.drift import PSI_MAJOR, PSI_MODERATE, SMD_NOTABLE
from prom.score.flags import flag_sections
from prom.score.id_column import resolve_id_column
from prom.score.output import OUTPUT_SUFFIXES, OutputInUseError, OutputSet
from prom.score.plan import (
    ID_COLUMN,
    Layout,
    Options,
    ScoreError,
    load_mapping,
    manifest_sha256,
    plan_layout,
    realise,
)
from prom.score.reasons import reasons_method_of
from prom.score.source import Source, open_source, part_gaps
from prom.score.summary_text import summary_lines

__all__ = ["score_file", "default_paths", "summary_lines", "SUMMARY_FORMAT"]

logger = logging.getLogger("prom.score")
SUMMARY_FORMAT = "prom-score-summary"


def default_paths(out: Path) -> tuple[Path, Path]:
    """``(quarantine, summary)`` next to ``out``: ``<stem>.quarantine.csv``, ``<stem>.summary.json``."""
    name = out.name
    for suffix in sorted(OUTPUT_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return out.with_name(f"{name}.quarantine.csv"), out.with_name(f"{name}.summary.json")


def _scored_at(value) -> str:
    if value is None:
        t = dt.datetime.now(dt.UTC)
    elif isinstance(value, dt.datetime):
        t = value
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ScoreError(
                f"scored_at={value!r} is not an ISO-8601 time; expected e.g. 2026-11-24T09:00:00Z"
            ) from None
    if t.tzinfo is None:
        raise ScoreError(
            f"scored_at={value!r} has no time zone; give UTC, e.g. 2026-11-24T09:00:00Z"
        )
    return t.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_options(reasons_above, top_k, batch_rows, engine, reasons_method="exact") -> None:
    if reasons_above is not None and not 0.0 <= float(reasons_above) <= 1.0:
        raise ScoreError(f"reasons_above={reasons_above!r}; expected a probability in 0–1")
    try:
        check_option("reasons_method", reasons_method, REASONS_METHOD)
    except ValueError as exc:  # a scoring run refuses its options with ScoreError
        raise ScoreError(str(exc)) from None
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise ScoreError(f"top_k={top_k!r}; expected a whole number ≥ 1")
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ScoreError(f"batch_rows={batch_rows!r}; expected a whole number ≥ 1")
    if engine not in ("local", "dask"):
        raise ScoreError(f"engine={engine!r}; expected 'local' or 'dask'")


def score_file(
    bundle,
    source,
    out,
    *,
    table: str | None = None,
    mapping=None,
    quarantine=None,
    summary=None,
    reasons: bool = False,
    reasons_above: float | None = None,
    top_k: int = 3,
    reasons_method: str = "exact",
    strict: bool = False,
    scored_at=None,
    batch_rows: int = 65536,
    engine: str = "local",
    scheduler: str | None = None,
    n_workers: int = 2,
    processes: bool = True,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal: str | None = None,
    trust_store=None,
    allow_unsigned: bool = False,
    missing_values=None,
    id_column: str | None = None,
) -> dict:
    """Score every row of ``source`` with the bundle's primary models; returns the summary.

    Parameters
    ----------
    bundle : path of a model bundle (``prom fit``).
    source : CSV, Parquet file or folder, or DuckDB database (``table=`` names the table).
    encoding, delimiter, decimal : a CSV file's text encoding (default UTF-8, a byte-order
        mark accepted), delimiter (default ``","``; ``"tab"``) and decimal mark (``"."``
        by default, or ``","``); see
        :mod:`prom.cohort.csv_reader`. A CSV row with a broken structure is quarantined
        (checks ``field_count``, ``truncated_row``, ``open_quote``, ``repeated_header``) and
        never scored; the quarantine file gives every CSV row's ``line``.
    out : ``.parquet``, ``.csv`` or ``.csv.gz`` output; refused if it exists, unless
        ``overwrite``. ``quarantine``/``summary`` default to :func:`default_paths`.
    mapping : column-mapping YAML path or dict (:mod:`prom.cohort.mapping`).
    id_column : the input column that keys the rows when it is not ``patient_id``
        (default: the bundle's recorded id column when the input has it and no
        ``patient_id``); see :mod:`prom.score.id_column`.
    progress : called after each batch with the rows read so far and the rows of the
        input (counted by the id pass), e.g. to draw a progress bar.
    reasons : top-``top_k`` reasons for every scored row; ``reasons_above=P``: only where
        the probability (multiclass: the most probable class's) is ≥ P.
    reasons_method : ``"exact"`` (TreeSHAP; exact formulas for linear and Cox models) or
        ``"approx"``: XGBoost models' Saabas path attribution (about five times faster,
        not SHAP; other families stay exact). The summary says which each task used.
    strict : stop at the first bad row (:class:`ScoreError`), writing nothing.
    trust_store : the trust store the bundle's signature is checked against (default: the
        configured one, :func:`prom.bundle.default_trust_store`).
    allow_unsigned : use an unsigned bundle, or one signed by an untrusted key; the
        summary's ``bundle.trust`` records it as unverified.
    scored_at : the run's time stamp (see the module docstring).
    missing_values : markers of a missing value besides the empty cell (``"n/a,NA,-99"`` or
        a list; :mod:`prom.cohort.missing_values`): matching cells are missing, counted per
        column in the summary (``missing_values``). Without it, text in a column the
        models read as numbers quarantines its row (check ``type``). Each task's summary
        counts the values its model imputed (``imputed``).
    engine : ``"local"`` or ``"dask"`` (Parquet input; ``scheduler`` address, or a
        ``LocalCluster`` of ``n_workers`` single-threaded workers, ``processes`` or threads).
    """
    from prom.bundle import load_bundle
    from prom.bundle.trust import resolve_trust_store
    from prom.cohort.missing_values import parse_missing_values

    t0 = time.perf_counter()
    _check_options(reasons_above, top_k, batch_rows, engine, reasons_method)
    tokens = parse_missing_values(missing_values)
    out = Path(out)
    if not out.name.lower().endswith(OUTPUT_SUFFIXES):
        raise ScoreError(
            f"cannot write {out.name!r}: unsupported extension; use one of "
            f"{', '.join(OUTPUT_SUFFIXES)}"
        )
    q_default, s_default = default_paths(out)
    q_path = Path(quarantine) if quarantine is not None else q_default
    s_path = Path(summary) if summary is not None else s_default
    stamp = _scored_at(scored_at)

    store = str(resolve_trust_store(trust_store))  # one store for every worker
    b = load_bundle(bundle, trust_store=store, allow_unsigned=allow_unsigned)
    sha = manifest_sha256(b.path)
    src = open_source(source, table, encoding=encoding, delimiter=delimiter, decimal=decimal)
    mapping_dict, origin = load_mapping(mapping)
    mapping_dict, origin, id_note = resolve_id_column(
        b, src.columns, mapping_dict, origin, id_column
    )
    layout = plan_layout(b, src.columns, mapping_dict, origin)
    _refuse_part_gaps(src, layout)
    if out.exists() and not overwrite:  # refused early here, checked again under the locks
        raise OutputInUseError(
            f"{out} exists; choose another output or pass overwrite (--overwrite)"
        )
    if engine == "dask":
        src.pieces()  # refuses a non-Parquet input before any row is read
    options = Options(
        bundle=str(b.path),
        bundle_id=b.bundle_id,
        manifest_sha256=sha,
        scored_at=stamp,
        prom_version=_version(),
        mapping=mapping_dict,
        mapping_origin=origin,
        reasons=bool(reasons),
        reasons_above=None if reasons_above is None else float(reasons_above),
        reasons_method=reasons_method,
        top_k=int(top_k),
        strict=bool(strict),
        batch_rows=int(batch_rows),
        trust_store=store,
        allow_unsigned=bool(allow_unsigned),
        missing_values=tokens,
        id_note=id_note,
    )
    # the run's critical section: every output locked (refused if another run holds one,
    # or if the output exists without overwrite) from here until after the renames
    outputs = OutputSet(
        out, {"quarantine": q_path, "summary": s_path}, overwrite=overwrite, inputs=[Path(source)]
    )
    try:
        duplicates, n_ids = _duplicates(src, layout, options)
        plan = realise(options, layout, duplicates, bundle=b)
        t_plan = time.perf_counter() - t0

        sink = outputs.table(out, output_schema(plan), unique_text=(ID_COLUMN,))
        qsink = outputs.quarantine(q_path, QUARANTINE_COLUMNS)
        stats = RunStats.for_plan(plan)
        if engine == "local":
            from prom.score.engines import local_results

            results = local_results(plan, src)
        else:
            from prom.score.engines import dask_results

            results = dask_results(
                options,
                layout,
                duplicates,
                src,
                scheduler=scheduler,
                n_workers=n_workers,
                processes=processes,
            )
        for res in results:
            sink.write(res.table)
            qsink.write(res.quarantine)
            stats.merge(res.stats)
            if progress is not None:
                progress(stats.read, n_ids)
        if stats.read != n_ids:
            raise ScoreError(
                f"the input changed during the run: the id pass read {n_ids:,} "
                f"rows, scoring read {stats.read:,}"
            )
        if stats.scored + stats.quarantined != stats.read or sink.rows != stats.scored:
            raise ScoreError(
                f"row accounting does not add up: read {stats.read:,}, scored "
                f"{stats.scored:,}, quarantined {stats.quarantined:,}, written "
                f"{sink.rows:,}"
            )
        report = _summary(
            b.trust,
            plan,
            src,
            out,
            q_path,
            stats,
            engine,
            scheduler,
            n_workers,
            time.perf_counter() - t0,
            t_plan,
        )
        outputs.json(s_path, report)
        outputs.commit()  # the output checked again, then renamed last
    except BaseException:
        outputs.abort()
        raise
    logger.info(
        "scored %d row(s), quarantined %d, in %.1f s",
        stats.scored,
        stats.quarantined,
        time.perf_counter() - t0,
    )
    return report


def _version() -> str:
    try:
        return metadata.version("spine-prom")
    except metadata.PackageNotFoundError:
        return "unknown"


def _refuse_part_gaps(src: Source, layout: Layout) -> None:
    """Refuse a partitioned Parquet input whose files do not all hold the columns the
    models read (:func:`prom.score.source.part_gaps`), as a file lacking them is."""
    optional = set(layout.outcome)  # observed outcomes: read where present
    gaps = part_gaps(src, [c for c in layout.read if c not in optional])
    if not gaps:
        return
    shown = "; ".join(
        f"{name} ({n:,} rows) lacks {', '.join(cols)}" for name, (cols, n) in gaps.items()
    )
    raise MissingColumnError(
        f"parts of the Parquet dataset {src.path.name!r} lack column(s) the bundle needs "
        f"that other parts have: {shown}. Their rows would be read as missing there. "
        "Write every part with the same columns (or score the parts apart). "
        "Nothing was scored."
    )


def _duplicates(src: Source, layout: Layout, options: Options):
    """The rows whose id is used on more than one row (one pass over the id column)."""
    from prom.cohort.mapping import ColumnMapping

    rename = None
    if options.mapping is not None and layout.id_source != ID_COLUMN:
        full = ColumnMapping.from_dict(options.mapping, origin=options.mapping_origin)
        rename = ColumnMapping(
            rules=tuple(r for r in full.rules if r.source == layout.id_source),
            keep_unmapped=True,
            origin=full.origin,
        )
    hashes, present, n = [], [], 0
    for batch in src.batches([layout.id_source], options.batch_rows, [layout.id_source]):
        raw = batch.frame  # a row with a broken structure has no id: never a duplicate
        frame = rename.apply(raw)[0] if rename is not None else raw
        h, p = id_hashes(check_ids(frame[ID_COLUMN])[0])
        hashes.append(h)
        present.append(p)
        n += len(raw)
    if not hashes:
        return DuplicateIds(), 0
    return find_duplicates(np.concatenate(hashes), np.concatenate(present)), n


def _summary(
    trust,
    plan,
    src: Source,
    out: Path,
    q_path: Path,
    stats: RunStats,
    engine: str,
    scheduler,
    n_workers: int,
    seconds: float,
    t_plan: float,
) -> dict:
    from prom.score.missing import missing_summary

    o = plan.options
    tasks = {}
    for t in plan.tasks:
        c = stats.tasks[t.name]
        entry = {
            "kind": t.kind,
            "model": t.family,
            "columns": t.columns,
            "scored": int(c["scored"]),
            "not_in_population": int(c["not_in_population"]),
        }
        if t.kind == "survival" and t.time_unit in (None, "months"):
            entry["horizon_months"] = t.horizon  # p_<task>: risk of the event by then
        elif t.kind == "survival":  # a user's own time unit: stated, never taken as months
            entry["horizon"] = t.horizon
            entry["time_unit"] = t.time_unit
        if t.population:
            entry["population"] = {k: list(v) for k, v in t.population.items()}
        if o.reasons or o.reasons_above is not None:
            entry["reasons"] = int(c["reasons"])
            entry["reasons_method"] = reasons_method_of(t, o.reasons_method)
        entry["imputed"] = {k: int(v) for k, v in stats.imputed.get(t.name, {}).items() if v}
        tasks[t.name] = entry
    calibration = {
        t.name: (
            stats.calibration[t.name].report()
            if t.name in stats.calibration
            else {
                "note": ("not computed for survival tasks (censored outcomes)")
                if t.kind == "survival"
                else "no outcome definition in the bundle"
            }
        )
        for t in plan.tasks
    }
    return {
        "format": SUMMARY_FORMAT,
        "version": 1,
        "scored_at": o.scored_at,
        "reproduce": f"re-run with --scored-at {o.scored_at} for a byte-identical output",
        "prom_version": o.prom_version,
        "bundle": {
            "path": o.bundle,
            "bundle_id": o.bundle_id,
            "manifest_sha256": o.manifest_sha256,
            "trust": trust.to_dict(),
            "allow_unsigned": o.allow_unsigned,
        },
        "input": {
            "path": str(src.path),
            "kind": src.kind,
            "table": src.table,
            "columns_read": list(plan.layout.read),
            **(
                {
                    "encoding": src.csv.dialect.codec,
                    "delimiter": src.csv.dialect.sep,
                    "decimal": src.csv.dialect.point,
                }
                if src.csv is not None
                else {}
            ),
        },
        "output": str(out),
        "quarantine": str(q_path),
        "engine": {
            "name": engine,
            "scheduler": scheduler or ("LocalCluster" if engine == "dask" else None),
            "workers": n_workers if engine == "dask" and scheduler is None else None,
            "batch_rows": o.batch_rows,
        },
        "options": {
            "reasons": o.reasons,
            "reasons_above": o.reasons_above,
            "top_k": o.top_k,
            "reasons_method": o.reasons_method,
            "strict": o.strict,
            "mapping": o.mapping_origin if o.mapping else None,
            "id_column": o.id_note,
        },
        "rows": {
            "read": stats.read,
            "scored": stats.scored,
            "quarantined": stats.quarantined,
            "problems": stats.problems,
        },
        "quarantine_by_check": dict(sorted(stats.by_check.items())),
        "quarantined_rows_by_column": dict(sorted(stats.by_column.items())),
        "quarantined_decimal_comma_values": dict(sorted(stats.decimal_commas.items())),
        "tasks": tasks,
        **flag_sections(stats.rows_flagged, stats.flags, stats.rows_in_tail, stats.tail_flags),
        "proms_scored_from_items": {k: dict(v) for k, v in stats.proms.items()},
        "outcome_values_ignored": dict(sorted(stats.outcome_ignored.items())),
        "missing_values": missing_summary(o, stats),
        "mapping_values": [
            {"action": a, "source": s, "target": t, "n_values": int(n)}
            for (a, s, t), n in sorted(stats.mapping.items())
        ],
        "layout_notes": list(plan.layout.notes),
        "drift": {
            "method": "PSI over the training deciles (+ missing; categories: levels + "
            "missing + unseen); standardised difference of means",
            "thresholds": {
                "psi_moderate": PSI_MODERATE,
                "psi_major": PSI_MAJOR,
                "std_diff_notable": SMD_NOTABLE,
            },
            "tasks": {k: v.report() for k, v in stats.drift.items()},
        },
        "calibration": calibration,
        "seconds": {"total": round(seconds, 3), "planning_and_id_pass": round(t_plan, 3)},
    }
