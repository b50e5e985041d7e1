"""Many cases in worker processes of their own; a failing case never stops the batch, it
becomes a row of ``errors`` (patient id, image, stage, error type, message) — a case
whose process crashed in native code included (:mod:`radiomics_features.pipeline.isolation`).
Results come back in input order."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiomics_features.pipeline.case import ONNX_THREADS, TIMED_STAGES, CaseResult, run_case
from radiomics_features.pipeline.cases import Case, patient_id_from_path
from radiomics_features.pipeline.isolation import WorkerDied, run_isolated_jobs

__all__ = ["ERROR_COLUMNS", "TIMING_COLUMNS", "BatchResult", "extract_batch"]

ERROR_COLUMNS = ("patient_id", "image", "stage", "error_type", "message")
TIMING_COLUMNS = ("patient_id", *TIMED_STAGES, "total")


@dataclass(frozen=True, eq=False)
class BatchResult:
    """Features of every case that succeeded, and one ``errors`` row per case that failed."""

    long: pd.DataFrame
    wide: pd.DataFrame
    errors: pd.DataFrame
    n_cases: int
    n_ok: int
    n_failed: int
    timings: dict = field(default_factory=dict)
    #: One row per case that succeeded: ``patient_id``, seconds per stage and ``total``.
    case_timings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=TIMING_COLUMNS))


def _init_worker() -> None:
    """Batch worker set-up: one SimpleITK thread (onnxruntime's: ``ort_threads=1``)."""
    import SimpleITK as sitk

    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(1)


def _run_one(
    case: Case,
    params,
    radiomics: bool,
    convention,
    ort_threads: int,
    label_map_dir=None,
    grade: bool = False,
) -> tuple[CaseResult | None, dict | None]:
    stages: list[str] = []
    try:
        result = run_case(
            case.image,
            case.mask,
            convention=convention,
            patient_id=case.patient_id,
            params=params,
            radiomics=radiomics,
            backbone=None,
            stages=stages,
            ort_threads=ort_threads,
            label_map_dir=label_map_dir,
            series=case.series,
            grade=grade,
        )
    except Exception as exc:  # noqa: BLE001 - a failing case never stops the batch
        return None, _error_row(case, stages[-1] if stages else "read", exc)
    return result, None


def _error_row(case: Case, stage: str, exc: BaseException | str) -> dict:
    if isinstance(exc, str):
        etype, msg = "CaseMatchError", exc
    else:
        etype, msg = type(exc).__name__, str(exc).strip() or repr(exc)
    return {
        "patient_id": case.patient_id,
        "image": str(case.image),
        "stage": stage,
        "error_type": etype,
        "message": msg,
    }


def _as_case(c) -> Case:
    if isinstance(c, Case):
        return c
    if isinstance(c, (str, os.PathLike)):
        return Case(patient_id_from_path(c), Path(c))
    raise TypeError(f"cases must be Case objects or image paths; got {type(c).__name__}")


def extract_batch(
    cases: Iterable[Case | str | os.PathLike],
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    params=None,
    radiomics: bool = True,
    convention: str | None = None,
    label_map_dir: str | os.PathLike | None = None,
    grade: bool = False,
) -> BatchResult:
    """Run :func:`~radiomics_features.pipeline.extract_case` on every case; failures become
    ``errors`` rows.

    Parameters
    ----------
    cases : iterable of Case or path
        Usually :func:`~radiomics_features.pipeline.find_cases`; a case with a ``problem``
        fails at stage ``match``.
    workers : int
        Worker processes (one even for 1: a crash in native code on a damaged or hostile
        file is then one case's error row, not the end of the batch).
        With more than one, each worker runs onnxruntime and SimpleITK single-threaded.
        Results come back in input order.
    progress : callable, optional
        Called as ``progress(done, total)`` after each case.
    params, radiomics, convention, grade
        As for :func:`~radiomics_features.pipeline.extract_case` (params are checked once,
        before any case runs).
    label_map_dir : path, optional
        Also write each case's label map there (``<patient_id>_levels.nii.gz``,
        :func:`~radiomics_features.pipeline.case.write_label_map`).
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be an int ≥ 1; got {workers!r}")
    items = [_as_case(c) for c in cases]
    if radiomics:
        from radiomics_features.radiomic import require_pyradiomics, resolve_params

        require_pyradiomics()
        params = resolve_params(params)
    results: list[CaseResult | None] = [None] * len(items)
    errors: list[dict | None] = [None] * len(items)
    todo = []
    for i, c in enumerate(items):
        if c.problem is not None:
            errors[i] = _error_row(c, "match", c.problem)
        else:
            todo.append(i)
    done = len(items) - len(todo)
    if progress is not None and done:
        progress(done, len(items))
    t0 = time.perf_counter()
    shared = workers > 1 and len(todo) > 1  # workers share the cores: one thread each
    threads = 1 if shared else ONNX_THREADS
    jobs = [(items[i], params, radiomics, convention, threads, label_map_dir, grade) for i in todo]
    for k, answer, exc in run_isolated_jobs(
        _run_one,
        jobs,
        workers,
        describe=lambda k: f"image {str(items[todo[k]].image)!r}",
        initializer=_init_worker if shared else None,
    ):
        i = todo[k]
        if exc is None:
            results[i], errors[i] = answer
        else:  # the worker died (WorkerDied), or an answer could not come back
            stage = "worker" if isinstance(exc, WorkerDied) else "read"
            errors[i] = _error_row(items[i], stage, exc)
        done += 1
        if progress is not None:
            progress(done, len(items))
    ok = [r for r in results if r is not None]
    errs = [e for e in errors if e is not None]
    long = (
        pd.concat([r.long for r in ok], ignore_index=True)
        if ok
        else pd.DataFrame(columns=["patient_id"])
    )
    wide = (
        pd.concat([r.wide for r in ok], ignore_index=True)
        if ok
        else pd.DataFrame(columns=["patient_id"])
    )
    timings = {k: float(np.sum([r.timings[k] for r in ok])) for k in TIMED_STAGES}
    timings["wall"] = time.perf_counter() - t0
    case_timings = pd.DataFrame(
        [{"patient_id": r.patient_id, **r.timings} for r in ok], columns=TIMING_COLUMNS
    )
    return BatchResult(
        long=long,
        wide=wide,
        errors=pd.DataFrame(errs, columns=ERROR_COLUMNS),
        n_cases=len(items),
        n_ok=len(ok),
        n_failed=len(errs),
        timings=timings,
        case_timings=case_timings,
    )
