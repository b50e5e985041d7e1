"""The imaging part of ``prom demo``: real lumbar MRI through the shipped pipeline.

Each SPIDER scan in the shared data folder goes through
:func:`radiomics_features.pipeline.extract_batch` with no mask supplied — the bundled
backbone segments it, levels are named, geometry and radiomic features are measured —
exactly what ``prom features`` does with a user's scans. The summary is per disc level:
how many patients had the level found, and the median disc height, disc height index,
disc/CSF signal ratio and canal AP diameter. Agreement without Dice: the scans of the
patients held out from the backbone's training (its sidecar's validation split) are
also measured on the expert masks, and the median absolute difference of disc height
and canal AP between the two (backbone vs expert) is given level by level.

The data are not part of the repository; without them the demo prints one line and
goes on.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

__all__ = ["imaging_summary", "level_summary"]

_MEDIANS = {
    "disc_height_mm": "disc height mm",
    "disc_height_index": "DHI",
    "disc_csf_signal_ratio": "disc/CSF",
    "canal_ap_mm": "canal AP mm",
}
_AGREEMENT = ("disc_height_mm", "canal_ap_mm")


def level_summary(backbone: pd.DataFrame, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per disc level: patients, patients with the level found, medians of the features,
    and (given the expert-mask table) the median |backbone − expert| per feature.

    Both tables are ``extract_batch(...).long`` tables (``patient_id``, ``level``,
    ``kind``, ``confidence``, the geometry columns).
    """
    from radiomics_features.levels import DISC_LEVELS

    need = {"patient_id", "level", "kind", "confidence", *_MEDIANS}
    for name, df in (("backbone", backbone), ("truth", truth)):
        if df is not None and not need <= set(df.columns):
            raise KeyError(
                f"{name} table lacks column(s) {sorted(need - set(df.columns))}; "
                "expected an extract_batch(...).long table"
            )
    discs = backbone[backbone["kind"] == "disc"]
    found = discs["confidence"].ne("none")
    out = pd.DataFrame({"level": list(DISC_LEVELS)})
    out["n_patients"] = out["level"].map(discs.groupby("level")["patient_id"].nunique())
    out["n_found"] = out["level"].map(discs[found].groupby("level")["patient_id"].nunique())
    med = discs[found].groupby("level")[list(_MEDIANS)].median()
    out = out.join(med, on="level")
    if truth is not None:
        pair = discs.merge(
            truth[truth["kind"] == "disc"], on=["patient_id", "level"], suffixes=("", "_truth")
        )
        for f in _AGREEMENT:
            diff = (pair[f] - pair[f"{f}_truth"]).abs()
            out[f"{f}_abs_diff"] = out["level"].map(diff.groupby(pair["level"]).median())
            out[f"{f}_n_pairs"] = out["level"].map(diff.notna().groupby(pair["level"]).sum())
    return out.fillna({"n_patients": 0, "n_found": 0}).astype({"n_patients": int, "n_found": int})


def _table(summary: pd.DataFrame, n_cases: int) -> Table:
    t = Table(
        title=f"SPIDER lumbar MRI, backbone segmentation ({n_cases} scans): per disc level, medians"
    )
    t.add_column("level", no_wrap=True)
    t.add_column("found", justify="right")
    for label in _MEDIANS.values():
        t.add_column(label, justify="right")
    agree = [f for f in _AGREEMENT if f"{f}_abs_diff" in summary]
    for f in agree:
        t.add_column(f"|Δ| {_MEDIANS[f]}", justify="right")
    for r in summary.itertuples():
        cells = [r.level.upper().replace("_", "/"), f"{r.n_found}/{r.n_patients}"]
        cells += [f"{getattr(r, f):.2f}" for f in _MEDIANS]
        cells += [f"{getattr(r, f'{f}_abs_diff'):.2f}" for f in agree]
        t.add_row(*cells)
    return t


def imaging_summary(
    data_dir: str | Path | None = None,
    *,
    max_patients: int | None = None,
    console: Console | None = None,
    workers: int = 2,
    agreement: bool = True,
) -> pd.DataFrame | None:
    """Extract features from the shared SPIDER scans with the backbone and summarise them
    per disc level (see the module docstring); print the table.

    ``max_patients`` takes the first scans by id; ``workers`` processes run the cases;
    ``agreement`` also measures the expert masks of the backbone's held-out patients
    for the |Δ| columns. Returns None (with a one-line note) when the data folder or the
    imaging extra is absent.
    """
    console = console or Console()
    if max_patients is not None and (not isinstance(max_patients, int) or max_patients < 1):
        raise ValueError(f"max_patients must be a positive int or None, got {max_patients!r}")
    try:
        from radiomics_features.pfirrmann import DEFAULT_DATA
        from radiomics_features.pipeline import extract_batch, find_cases
    except ImportError as exc:  # the imaging extra is optional
        console.print(f"[dim]imaging demo skipped: {exc}; install the imaging extra[/]")
        return None
    data = Path(data_dir) if data_dir is not None else DEFAULT_DATA
    if not data.is_dir():
        console.print(
            f"[dim]imaging demo skipped: no SPIDER scans at {data} "
            "(the repository root's sibling shared/data/spider-t2-lumbar)[/]"
        )
        return None
    cases = sorted((c for c in find_cases(data) if c.problem is None), key=lambda c: c.patient_id)[
        :max_patients
    ]
    if not cases:
        console.print(f"[dim]imaging demo skipped: no image files in {data}[/]")
        return None
    radiomics = _has_pyradiomics()
    t0 = time.perf_counter()
    with console.status(f"segmenting and measuring {len(cases)} scans ({workers} workers)"):
        bb = extract_batch(cases, workers=workers, radiomics=radiomics)
    t_bb = time.perf_counter() - t0
    truth, t_truth = None, 0.0
    if agreement and bb.n_ok:
        measured, held_out = set(bb.long["patient_id"]), _held_out_ids()
        paired = [
            c
            for c in find_cases(data, masks=data)
            if c.mask is not None and c.patient_id in measured and c.patient_id in held_out
        ]
        if paired:
            t0 = time.perf_counter()
            with console.status(f"measuring the {len(paired)} expert masks"):
                truth = extract_batch(paired, workers=workers, radiomics=False).long
            t_truth = time.perf_counter() - t0
    if not bb.n_ok:
        console.print(
            f"[red]imaging demo: all {bb.n_cases} scans failed[/]; first error: "
            f"{bb.errors.iloc[0]['message']}"
        )
        return None
    summary = level_summary(bb.long, truth)
    console.print(_table(summary, bb.n_ok))
    n_rad = sum(
        c.startswith("rad_") and not c.endswith(("_n_voxels", "_reason")) for c in bb.long.columns
    )
    notes = [
        f"{bb.n_ok} of {bb.n_cases} scans measured in {t_bb:.0f} s "
        f"({workers} workers; {n_rad} radiomic features per disc level"
        + ("" if radiomics else ", pyradiomics not installed")
        + ")"
    ]
    if truth is not None:
        notes.append(
            f"|Δ|: median absolute difference from the same measure on the expert "
            f"masks, over the {truth['patient_id'].nunique()} patients held out from "
            f"the backbone's training ({t_truth:.0f} s)"
        )
    notes.append("levels named from the lowest visible disc (taken as L5/S1)")
    console.print("[dim]" + "; ".join(notes) + "[/]")
    if bb.n_failed:
        console.print(
            f"[yellow]{bb.n_failed} scan(s) failed:[/] "
            + "; ".join(f"{r.patient_id} ({r.stage}): {r.message}" for r in bb.errors.itertuples())
        )
    return summary


def _held_out_ids() -> set[str]:
    """Patient ids (``spider_<id>``) of the backbone's validation split, from its sidecar:
    on the patients it was trained on, agreement with the expert masks is optimistic."""
    from radiomics_features.backbone import load_backbone

    split = load_backbone().metadata.get("split", {})
    return {f"spider_{int(i):03d}" for i in split.get("validation_ids", ())}


def _has_pyradiomics() -> bool:
    try:
        import radiomics  # noqa: F401  (pyradiomics' import name)
    except ImportError:
        return False
    return True
