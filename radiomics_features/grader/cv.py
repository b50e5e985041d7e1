"""Patient-grouped CV of the disc grader and of the feature baseline, on the same folds.

    python -m radiomics_features.grader.cv prepare --dataset grader_out
    python -m radiomics_features.grader.cv baseline --dataset grader_out
    (train the CNN: radiomics_features.grader.train_cnn --cv, in .venv-train)
    python -m radiomics_features.grader.cv score --dataset grader_out

``prepare`` keeps the graded discs with at least one trusted crop, draws the folds
(stratified patient-grouped 5-fold, seeds 0, 1, 2: ``pfirrmann.evaluation.grouped_splits``)
and writes ``train_arrays.npz`` (crops, flags, labels, patients, folds).
``baseline`` fits the two existing classifiers (``pfirrmann.evaluation.make_models``:
tuned logistic regression and shallow gradient boosting) on disc geometry and intensity
statistics of the crops. ``score`` turns out-of-fold probabilities into the figures of
``metrics`` and writes ``results.json``.

Intensity statistics are measured on slices scaled by their 99th percentile: the
SPIDER PNGs are windowed 8-bit exports, so these are within-slice contrasts, and the
ratios to the vertebral bodies above and below are the windowing-insensitive ones
(insensitive to a gain; an offset in the export would still move them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from radiomics_features.grader.crops import STORED_SIZE
from radiomics_features.grader.dataset import FINDINGS
from radiomics_features.grader.metrics import binary_aucs, grade_summary, kappa_ci_by_patient

SEEDS = (0, 1, 2)
N_SPLITS = 5


def prepare(out: Path) -> dict:
    from radiomics_features.pfirrmann.evaluation import grouped_splits

    g = pd.read_csv(out / "graded.csv")
    crops = np.load(out / "crops.npz")["crops"]
    keep = (g.has_t2 | g.has_t1).to_numpy()
    g, crops = g[keep].reset_index(drop=True), crops[keep]
    y = g.pfirrmann.to_numpy(dtype=int)
    folds = np.full((len(SEEDS), len(g)), -1, dtype=np.int8)
    for r, f, _tr, te in grouped_splits(y, g.patient.to_numpy(), n_splits=N_SPLITS, seeds=SEEDS):
        folds[r, te] = f
    np.savez_compressed(
        out / "train_arrays.npz",
        crops=crops,
        has=g[["has_t2", "has_t1"]].to_numpy(dtype=bool),
        pfirrmann=y,
        findings=g[list(FINDINGS)].to_numpy(dtype=np.int8),
        finding_names=np.array(FINDINGS),
        patient=g.patient.to_numpy(),
        label=g.label.to_numpy(),
        folds=folds,
    )
    g.to_csv(out / "train_table.csv", index=False)
    return {"discs": len(g), "patients": int(g.patient.nunique())}


def intensity_features(crops: np.ndarray, has: np.ndarray) -> pd.DataFrame:
    """Per crop and sequence: disc-core statistics and ratios to the bodies above/below.

    Boxes on the stored 80 x 80 crop (1.2 mm pixels, disc centred and level): disc core
    = 20 x 4 px (24 x 4.8 mm) at the centre; vertebra above/below = 20 x 8 px boxes
    centred 14 px (16.8 mm) from the disc centre; canal = 6 x 8 px box 20-26 px
    posterior of the centre.
    """
    c = STORED_SIZE // 2
    cols = {}
    for ch, seq in enumerate(("t2", "t1")):
        x = crops[:, ch].astype(np.float32)
        core = x[:, c - 2 : c + 2, c - 10 : c + 10].reshape(len(x), -1)
        above = x[:, c - 18 : c - 10, c - 10 : c + 10].reshape(len(x), -1).mean(1)
        below = x[:, c + 10 : c + 18, c - 10 : c + 10].reshape(len(x), -1).mean(1)
        canal = x[:, c - 4 : c + 4, c + 20 : c + 26].reshape(len(x), -1).mean(1)
        body = (above + below) / 2
        feats = {
            "core_mean": core.mean(1),
            "core_sd": core.std(1),
            "core_p10": np.percentile(core, 10, axis=1),
            "core_p90": np.percentile(core, 90, axis=1),
            "core_to_body": core.mean(1) / np.maximum(body, 1e-3),
            "core_to_canal": core.mean(1) / np.maximum(canal, 1e-3),
            "above_to_below": above / np.maximum(below, 1e-3),
        }
        for k, v in feats.items():
            cols[f"{seq}_{k}"] = np.where(has[:, ch], v, np.nan)
    return pd.DataFrame(cols)


def baseline(out: Path) -> dict:
    from threadpoolctl import threadpool_limits

    from radiomics_features.pfirrmann.evaluation import fit_predict, make_models

    d = np.load(out / "train_arrays.npz")
    g = pd.read_csv(out / "train_table.csv")
    geo = [
        f"{s}_{k}" for s in ("t2", "t1") for k in ("height_mm", "width_mm", "angle_deg", "area_mm2")
    ]
    X = pd.concat([g[geo].reset_index(drop=True), intensity_features(d["crops"], d["has"])], axis=1)
    X["level"] = g.label.to_numpy()
    X["t2_height_to_width"] = g.t2_height_mm / g.t2_width_mm
    features = list(X.columns)
    Xa = X.to_numpy(dtype=float)
    y, groups, folds = d["pfirrmann"], d["patient"], d["folds"]
    models = make_models(0)
    preds = {m: np.zeros(folds.shape, dtype=int) for m in models}
    for r in range(folds.shape[0]):
        for f in np.unique(folds[r]):
            te, tr = np.flatnonzero(folds[r] == f), np.flatnonzero(folds[r] != f)
            with threadpool_limits(limits=1):
                for name, model in models.items():
                    preds[name][r, te] = fit_predict(model, Xa, y, groups, tr, te)
    per_model: dict[str, dict] = {}
    res: dict = {"features": features, "models": per_model}
    for name in models:
        per_model[name] = {
            "grade": grade_summary(y, preds[name]),
            "qw_kappa_ci95_by_patient": kappa_ci_by_patient(y, preds[name], groups),
        }
    # binary findings: logistic regression on the same features (one per finding)
    res["findings_auc_logistic"] = _baseline_findings(Xa, d, folds)
    (out / "baseline.json").write_text(json.dumps(res, indent=2), encoding="utf-8")
    arrays: dict[str, np.ndarray] = {f"pred_{k}": v for k, v in preds.items()}
    np.savez(out / "baseline_oof.npz", **arrays)  # type: ignore[arg-type]
    return res


def _baseline_findings(Xa, d, folds) -> dict:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names = [str(x) for x in d["finding_names"]]
    F = d["findings"]
    probs = np.zeros((folds.shape[0], len(F), len(names)))
    for r in range(folds.shape[0]):
        for f in np.unique(folds[r]):
            te, tr = np.flatnonzero(folds[r] == f), np.flatnonzero(folds[r] != f)
            for j in range(len(names)):
                m = make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                    StandardScaler(),
                    LogisticRegression(max_iter=2000, C=0.1),
                )
                if F[tr, j].min() == F[tr, j].max():
                    probs[r, te, j] = F[tr, j].mean()
                    continue
                m.fit(Xa[tr], F[tr, j])
                probs[r, te, j] = m.predict_proba(Xa[te])[:, 1]
    return binary_aucs(pd.DataFrame(F, columns=names), probs, names)


def score(out: Path, oof: Path) -> dict:
    d = np.load(out / "train_arrays.npz")
    files = sorted(oof.glob("oof_r*.npz"))
    if not files:
        raise FileNotFoundError(f"no oof_r<k>.npz in {oof}; run train_cnn --cv first")
    loaded = [np.load(f) for f in files]
    reps = [int(o["repeat"]) for o in loaded]
    pg = np.stack([o["pfirrmann_prob"] for o in loaded])
    pf = np.stack([o["findings_prob"] for o in loaded])
    # discs predicted in every loaded repeat (all of them unless a run was interrupted)
    rows = ~np.isnan(pg).any(axis=(0, 2))
    y, groups = d["pfirrmann"][rows], d["patient"][rows]
    pg, pf = pg[:, rows], pf[:, rows]
    names = [str(x) for x in d["finding_names"]]
    argmax = pg.argmax(2) + 1
    expected = np.clip(np.rint((pg * np.arange(1, 6)).sum(2)), 1, 5).astype(int)
    res = {
        "repeats": reps,
        "discs": int(rows.sum()),
        "discs_in_dataset": len(rows),
        "patients": len(np.unique(groups)),
        "grade_argmax": grade_summary(y, argmax),
        "qw_kappa_ci95_by_patient_argmax": kappa_ci_by_patient(y, argmax, groups),
        "grade_expected_rounded": grade_summary(y, expected),
        "qw_kappa_ci95_by_patient_expected": kappa_ci_by_patient(y, expected, groups),
        "findings_auc": binary_aucs(pd.DataFrame(d["findings"][rows], columns=names), pf, names),
        "confusion_argmax_first_repeat": pd.crosstab(
            pd.Series(y, name="grade"), pd.Series(argmax[0], name="predicted")
        ).to_dict(),
    }
    base = out / "baseline_oof.npz"
    if base.is_file():  # the feature baseline on exactly the same repeats, folds and discs
        b = np.load(base)
        res["baseline_same_discs"] = {
            k[5:]: {
                "grade": grade_summary(y, b[k][reps][:, rows]),
                "qw_kappa_ci95_by_patient": kappa_ci_by_patient(y, b[k][reps][:, rows], groups),
            }
            for k in b.files
            if k.startswith("pred_")
        }
    (out / "cnn_results.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    (out / "cnn_results.md").write_text(results_markdown(res), encoding="utf-8")
    return res


def _row(name: str, g: dict, ci) -> str:
    m = {k: v["mean"] for k, v in g.items()}
    rec = " / ".join(f"{m[f'recall_{k}']:.2f}" for k in range(1, 6))
    return (
        f"| {name} | {m['accuracy']:.3f} | {m['qw_kappa']:.3f} ({ci[0]:.3f}–{ci[1]:.3f}) "
        f"| {m['within_one']:.3f} | {rec} |"
    )


def results_markdown(res: dict) -> str:
    """The score's figures as Markdown tables (CNN and the baseline on the same discs)."""
    lines = [
        (
            f"Repeats {res['repeats']} of 5-fold stratified patient-grouped CV; "
            f"{res['discs']} discs, {res['patients']} patients. Figures are means over repeats; "
            "kappa's 95% interval resamples patients (1,000 draws)."
        ),
        "",
        (
            "| model | accuracy | quadratic-weighted kappa (95% CI) | within one grade "
            "| recall grade 1 / 2 / 3 / 4 / 5 |"
        ),
        "|---|---:|---:|---:|---|",
        _row(
            "CNN, most probable grade (shipped rule)",
            res["grade_argmax"],
            res["qw_kappa_ci95_by_patient_argmax"],
        ),
        _row(
            "CNN, expected grade rounded (secondary)",
            res["grade_expected_rounded"],
            res["qw_kappa_ci95_by_patient_expected"],
        ),
    ]
    for name, b in res.get("baseline_same_discs", {}).items():
        lines.append(
            _row(
                f"baseline {name} (geometry + intensity)", b["grade"], b["qw_kappa_ci95_by_patient"]
            )
        )
    lines += [
        "",
        "| finding | positives | CNN AUC (mean, min–max over repeats) |",
        "|---|---:|---:|",
    ]
    for k, v in res["findings_auc"].items():
        lines.append(
            f"| {k} | {v['positives']} | {v['mean']:.3f} ({v.get('min', float('nan')):.3f}–{v.get('max', float('nan')):.3f}) |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("step", choices=["prepare", "baseline", "score"])
    ap.add_argument("--dataset", type=Path, required=True, help="the build's --out folder")
    ap.add_argument(
        "--oof", type=Path, default=None, help="folder with oof_r<k>.npz of train_cnn --cv (score)"
    )
    a = ap.parse_args(argv)
    if a.step == "prepare":
        res = prepare(a.dataset)
    elif a.step == "baseline":
        res = baseline(a.dataset)
    else:
        res = score(a.dataset, a.oof or a.dataset / "cnn")
    sys.stdout.write(json.dumps(res, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
