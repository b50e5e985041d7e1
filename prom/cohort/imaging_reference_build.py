"""Regenerate the measured imaging reference table (``prom/data/imaging_reference.json``).

    python -m prom.cohort.imaging_reference_build [--data DIR] [--out FILE]
        [--discs-dir DIR] [--workers 1]

(``make imaging-reference``.) Measures every lumbar disc of the SPIDER patients in
``--data`` with the toolkit's own extraction — :func:`radiomics_features.pfirrmann.
disc_dataset`, i.e. :func:`radiomics_features.pipeline.extract_batch` with radiomics —
twice: on the bundled backbone's segmentation of the image (``backbone``, the path a
user's scan takes in the calculator and ``prom features``) and on SPIDER's expert masks
(``truth``, for comparison), joined to SPIDER's Pfirrmann grades. It then summarises the
per-disc values (:func:`summarise`) into the table that :mod:`prom.cohort.imaging_reference`
reads. Only summaries are written to the package: no per-disc row leaves ``--discs-dir``
(default: a temporary folder), which keeps the measured rows for a re-summary with
``--reuse``.

Takes several minutes per mask source (31 volumes, segmentation and pyradiomics on CPU);
it is not part of the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from prom.cohort.imaging_reference import (
    DEFAULT_PATH,
    MEASURED_COLUMNS,
    QUANTILES,
    REFERENCE_FEATURES,
)
from prom.naming import DISC_LEVELS

__all__ = ["summarise", "fit_joint_model", "build", "to_json", "main"]

_DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "spider-t2-lumbar"
_GRADES = (1, 2, 3, 4, 5)
_REFERENCE_GRADE = 3
#: Scales a feature may be modelled on: the one whose skewness is nearest 0 among those
#: its values allow (log: all positive; atanh, Fisher's z: all inside (−1, 1)).
_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda x: x,
    "log": np.log,
    "atanh": np.arctanh,
}


def _stats(x: np.ndarray) -> dict:
    x = x[np.isfinite(x)]
    out: dict = {"n": int(x.size)}
    if x.size == 0:
        return out | {"mean": None, "sd": None} | {f"p{q:02d}": None for q in QUANTILES}
    out["mean"] = float(x.mean())
    out["sd"] = float(x.std(ddof=1)) if x.size > 1 else 0.0
    for q, v in zip(QUANTILES, np.quantile(x, np.array(QUANTILES) / 100), strict=True):
        out[f"p{q:02d}"] = float(v)
    return out


def _contract_table(discs: pd.DataFrame) -> pd.DataFrame:
    """Per-disc rows with the contract's feature names (``patient``, ``level``, ``grade``)."""
    out = pd.DataFrame(
        {
            "patient": discs["patient"].to_numpy(),
            "level": discs["level"].to_numpy(),
            "grade": discs["pfirrmann"].astype(int).to_numpy(),
        }
    )
    for feature, column in MEASURED_COLUMNS.items():
        out[feature] = (
            pd.to_numeric(discs[column], errors="coerce").to_numpy(float)
            if column in discs
            else np.nan
        )
    return out


def _skew(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    s = x.std()
    return float(((x - x.mean()) ** 3).mean() / s**3) if s > 0 else 0.0


def fit_joint_model(table: pd.DataFrame) -> dict:
    """The joint structure the simulator draws from (see :mod:`prom.cohort.imaging_reference`).

    Per feature on its scale (``log`` or ``atanh`` where that makes the values less skewed,
    ``identity`` otherwise): OLS of the
    value on level (one intercept per disc level) and Pfirrmann grade (one effect per grade,
    grade 3 the reference: the grades' effects need not be evenly spaced), residual SD, the share of residual variance between patients (one-way ANOVA
    intraclass correlation, clipped to 0–0.9), and the correlation matrix of the residuals
    of discs measured on every feature (made positive definite if it is not).
    """
    feats = list(REFERENCE_FEATURES)
    transform, resid = {}, {}
    intercept: dict[str, dict[str, float]] = {}
    effect: dict[str, dict[str, float]] = {}
    sd, share = {}, {}
    for f in feats:
        x = table[f].to_numpy(float)
        ok = np.isfinite(x)
        allowed = ["identity"]
        if ok.any() and (x[ok] > 0).all():
            allowed.append("log")
        if ok.any() and (np.abs(x[ok]) < 1).all():
            allowed.append("atanh")
        transform[f] = min(allowed, key=lambda t: abs(_skew(_TRANSFORMS[t](x[ok]))))
        y = _TRANSFORMS[transform[f]](x[ok])
        lev = table["level"].to_numpy()[ok]
        grade = table["grade"].to_numpy()[ok]
        others = [g for g in _GRADES if g != _REFERENCE_GRADE]
        X = np.column_stack(
            [(lev == level).astype(float) for level in DISC_LEVELS]
            + [(grade == g).astype(float) for g in others]
        )
        beta, *_ = np.linalg.lstsq(X, y, rcond=None)
        r = y - X @ beta
        k = len(DISC_LEVELS)
        intercept[f] = {level: float(b) for level, b in zip(DISC_LEVELS, beta[:k], strict=True)}
        effect[f] = {str(_REFERENCE_GRADE): 0.0} | {
            str(g): float(b) for g, b in zip(others, beta[k:], strict=True)
        }
        effect[f] = {str(g): effect[f][str(g)] for g in _GRADES}
        sd[f] = float(np.sqrt((r**2).sum() / max(r.size - X.shape[1], 1)))
        full = np.full(len(table), np.nan)
        full[ok] = r
        resid[f] = full
        share[f] = _icc(r, table["patient"].to_numpy()[ok])
    R = pd.DataFrame(resid).dropna()
    corr = np.corrcoef(R.to_numpy().T) if len(R) > len(feats) else np.eye(len(feats))
    corr = _positive_definite(corr)
    return {
        "features": feats,
        "transform": transform,
        "reference_grade": _REFERENCE_GRADE,
        "intercept": intercept,
        "grade_effect": effect,
        "residual_sd": sd,
        "patient_share": share,
        "residual_correlation": [[round(float(v), 6) for v in row] for row in corr],
        "n_complete": len(R),
    }


def _icc(r: np.ndarray, groups: np.ndarray) -> float:
    """One-way ANOVA intraclass correlation of ``r`` by ``groups``, clipped to [0, 0.9]."""
    df = pd.DataFrame({"r": r, "g": groups})
    by = df.groupby("g")["r"]
    k = by.size()
    k = k[k > 1]
    if len(k) < 3:
        return 0.0
    df = df[df["g"].isin(k.index)]
    by = df.groupby("g")["r"]
    grand = df["r"].mean()
    ssb = float((by.size() * (by.mean() - grand) ** 2).sum())
    ssw = float(((df["r"] - by.transform("mean")) ** 2).sum())
    msb, msw = ssb / (len(k) - 1), ssw / (len(df) - len(k))
    k0 = (len(df) - (k**2).sum() / len(df)) / (len(k) - 1)
    icc = (msb - msw) / (msb + (k0 - 1) * msw) if msb + (k0 - 1) * msw > 0 else 0.0
    return float(np.clip(icc, 0.0, 0.9))


def _positive_definite(c: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    w, v = np.linalg.eigh((c + c.T) / 2)
    c = (v * np.maximum(w, floor)) @ v.T
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def summarise(discs: pd.DataFrame) -> dict:
    """One mask source's section of the table from its per-disc rows (``disc_dataset``)."""
    table = _contract_table(discs)
    rows = []
    for level in (*DISC_LEVELS, "all"):
        at_level = table if level == "all" else table[table["level"] == level]
        for grade in ("all", *_GRADES):
            sub = at_level if grade == "all" else at_level[at_level["grade"] == grade]
            for f in (*REFERENCE_FEATURES, "pfirrmann"):
                x = sub["grade" if f == "pfirrmann" else f].to_numpy(float)
                if grade != "all" and f == "pfirrmann":
                    continue
                rows.append({"level": level, "grade": grade, "feature": f, **_stats(x)})
    grades = {
        level: {
            str(g): int(((table["level"] == level) & (table["grade"] == g)).sum()) for g in _GRADES
        }
        for level in DISC_LEVELS
    }
    from scipy.stats import spearmanr

    rho = {}
    for f in REFERENCE_FEATURES:
        ok = table[f].notna()
        rho[f] = float(spearmanr(table.loc[ok, "grade"], table.loc[ok, f])[0])
    return {
        "n_patients": int(table["patient"].nunique()),
        "n_discs": len(table),
        "failures": list(discs.attrs.get("failures", [])),
        "grades": grades,
        "grade_spearman": rho,
        "summaries": rows,
        "model": fit_joint_model(table),
    }


def _pipeline_provenance() -> dict:
    import hashlib

    import radiomics_features
    from radiomics_features.backbone import __file__ as backbone_init

    onnx = Path(backbone_init).with_name("spine_seg.onnx")
    out = {"radiomics_features": getattr(radiomics_features, "__version__", None)}
    if onnx.is_file():
        out["backbone_sha256"] = hashlib.sha256(onnx.read_bytes()).hexdigest()
    try:
        import radiomics

        out["pyradiomics"] = getattr(radiomics, "__version__", None)
    except ImportError:  # pragma: no cover - the imaging extra is needed to measure
        out["pyradiomics"] = None
    return out


def build(data: Path, discs_dir: Path, *, reuse: bool = False, workers: int = 1) -> dict:
    """Measure (or, with ``reuse``, read back) both mask sources and summarise them."""
    from radiomics_features.pfirrmann.dataset import disc_dataset

    sources = {}
    for masks in ("backbone", "truth"):
        path = discs_dir / f"discs_{masks}.csv"
        if reuse and path.is_file():
            discs = pd.read_csv(path)
        else:
            t0 = time.perf_counter()
            discs = disc_dataset(data, masks=masks, radiomics=True, workers=workers)
            discs.to_csv(path, index=False)
            sys.stdout.write(
                f"{masks}: {len(discs)} graded discs in {time.perf_counter() - t0:.0f} s\n"
            )
        sources[masks] = summarise(discs)
    return {
        "format": 1,
        "description": (
            "Distribution of the cohort contract's per-disc imaging features as the "
            "toolkit's own pipeline measures them on real sagittal T2 MRI (SPIDER, 31 "
            "patients), per disc level and Pfirrmann grade, and the joint model the "
            "cohort simulator draws from. See prom/cohort/imaging_reference.py."
        ),
        "source": (
            "SPIDER lumbar spine MRI (sagittal T2 SPACE subset, 31 patients): van der Graaf "
            "JW, van Hooff ML, Buckens CFM, et al. Lumbar spine segmentation in MR images: a "
            "dataset and a public benchmark. Scientific Data 11, 264 (2024). "
            "doi:10.5281/zenodo.10159290"
        ),
        "licence": "CC BY 4.0",
        "command": "make imaging-reference",
        "primary": "backbone",
        "pipeline": _pipeline_provenance(),
        "quantiles": list(QUANTILES),
        "sources": sources,
    }


def to_json(table: dict) -> str:
    """The table as JSON, one summary row per line (readable diffs), floats to 6 digits."""

    def rounded(v):
        if isinstance(v, float):
            return float(f"{v:.6g}")
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        if isinstance(v, list):
            return [rounded(x) for x in v]
        return v

    table = rounded(table)
    rows: dict[str, str] = {}
    for name, source in table["sources"].items():
        key = f"@@rows:{name}@@"
        rows[key] = ",\n".join("    " + json.dumps(r, allow_nan=False) for r in source["summaries"])
        source["summaries"] = key
    text = json.dumps(table, indent=1, allow_nan=False)
    for key, body in rows.items():
        text = text.replace(json.dumps(key), "[\n" + body + "\n   ]")
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m prom.cohort.imaging_reference_build",
        description=__doc__.splitlines()[0],
    )
    ap.add_argument("--data", type=Path, default=_DEFAULT_DATA, help="spider-t2-lumbar folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_PATH, help="the JSON table to write")
    ap.add_argument("--discs-dir", type=Path, default=None, help="where per-disc rows are kept")
    ap.add_argument("--reuse", action="store_true", help="re-summarise kept per-disc rows")
    ap.add_argument("--workers", type=int, default=1)
    a = ap.parse_args(argv)
    if not a.data.is_dir():
        sys.stderr.write(f"error: --data {a.data} is not a folder (the spider-t2-lumbar data)\n")
        return 2
    discs_dir = a.discs_dir or Path(tempfile.mkdtemp(prefix="imaging-reference-"))
    discs_dir.mkdir(parents=True, exist_ok=True)
    table = build(a.data, discs_dir, reuse=a.reuse, workers=a.workers)
    a.out.write_text(to_json(table), encoding="utf-8")
    sys.stdout.write(f"wrote {a.out} (per-disc rows kept in {discs_dir})\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
