"""Patient-grouped CV of the disc grader and of the feature baseline, on the same folds.

    python -m radiomics_features.grader.cv prepare --dataset grader_out
    python -m radiomics_features.grader.cv baseline --dataset grader_out
    (train the networks: radiomics_features.grader.train_cnn --cv, in .venv-train)
    python -m radiomics_features.grader.cv score --dataset grader_out
    (train the final network: train_cnn --export, in .venv-train)
    python -m radiomics_features.grader.cv export --dataset grader_out

``prepare`` keeps the graded discs with at least one trusted crop, draws the folds
(stratified patient-grouped 5-fold, seeds 0, 1, 2: ``pfirrmann.evaluation.grouped_splits``)
and writes ``train_arrays.npz`` (crops, flags, labels, patients, folds).
``baseline`` fits the two existing classifiers (``pfirrmann.evaluation.make_models``:
tuned logistic regression and shallow gradient boosting) on disc geometry and intensity
statistics of the crops (``features``). ``score`` turns the networks' out-of-fold
probabilities into the figures of ``metrics``, evaluates the combined rule and its parts
with honestly tuned thresholds (``combined``; it needs the pair networks'
``pairs_r<k>.npz``), and writes ``cnn_results.json`` / ``.md``. ``export`` fits the
feature model on every disc, tunes the shipped thresholds on the out-of-fold predictions
and writes ``feature_model.json`` next to the network, recording its sha256 in
``grader.json``.

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

from radiomics_features.grader.combined import (
    CNN_WEIGHT,
    evaluate_rules,
    feature_model_probs,
    fit_feature_model,
)
from radiomics_features.grader.dataset import FINDINGS
from radiomics_features.grader.features import disc_features
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


def feature_table(out: Path, d) -> pd.DataFrame:
    """``features.FEATURE_NAMES`` of every disc of the prepared data set."""
    g = pd.read_csv(out / "train_table.csv")
    return disc_features(g, d["crops"], d["has"], g.label.to_numpy())


def baseline(out: Path) -> dict:
    from threadpoolctl import threadpool_limits

    from radiomics_features.pfirrmann.evaluation import fit_predict, make_models

    d = np.load(out / "train_arrays.npz")
    X = feature_table(out, d)
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
    res["rules"] = _score_rules(out, oof, d, reps)
    (out / "cnn_results.json").write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    (out / "cnn_results.md").write_text(results_markdown(res), encoding="utf-8")
    return res


RULE_NAMES = {
    1.0: "network alone, tuned cuts",
    0.0: "feature model alone, tuned cuts",
    CNN_WEIGHT: "network + feature model, tuned cuts (shipped rule)",
}


def _score_rules(out: Path, oof: Path, d, reps: list[int]) -> dict:
    """The combined rule and its parts (``combined``), on the repeats whose network
    out-of-fold and pair predictions are complete; writes ``rules_oof.npz`` for
    ``export``."""
    done = [r for r in reps if (oof / f"pairs_r{r}.npz").is_file()]
    if not done:
        return {}
    y, groups, folds = d["pfirrmann"], d["patient"], d["folds"]
    Xa = feature_table(out, d).to_numpy(dtype=float)
    preds: dict[float, list[np.ndarray]] = {}
    keep: dict[str, np.ndarray] = {}
    thresholds: dict[str, dict] = {}
    used = []
    for r in done:
        cnn_oof = np.load(oof / f"oof_r{r}.npz")["pfirrmann_prob"].astype(float)
        cnn_pairs = np.load(oof / f"pairs_r{r}.npz")["pair_prob"].astype(float)
        feat_oof, feat_pairs = feature_model_probs(Xa, y, groups, folds[r])
        try:
            rules = evaluate_rules(y, folds[r], cnn_oof, cnn_pairs, feat_oof, feat_pairs)
        except ValueError as err:  # an interrupted pair run: say so, score the rest
            sys.stderr.write(f"repeat {r} left out of the rules: {err}\n")
            continue
        used.append(r)
        keep[f"feature_oof_r{r}"] = feat_oof
        keep[f"cnn_oof_r{r}"] = cnn_oof
        for w, v in rules.items():
            preds.setdefault(w, []).append(v["pred"])
            thresholds.setdefault(RULE_NAMES[w], {})[f"repeat {r}"] = v["thresholds"]
    if not used:
        return {}
    np.savez(out / "rules_oof.npz", repeats=np.array(used), **keep)  # type: ignore[arg-type]
    res: dict = {"repeats": used, "thresholds_per_fold": thresholds, "models": {}}
    for w, ps in preds.items():
        p = np.stack(ps)
        res["models"][RULE_NAMES[w]] = {
            "grade": grade_summary(y, p),
            "qw_kappa_ci95_by_patient": kappa_ci_by_patient(y, p, groups),
        }
    return res


def export(out: Path, grader_dir: Path) -> dict:
    """Fit the feature model on every disc, tune the shipped rule's thresholds on the
    out-of-fold predictions of every scored repeat, write ``feature_model.json`` and
    record its sha256 in the grader's sidecar (``grader.json``)."""
    import hashlib

    from radiomics_features.grader.combined import tune_thresholds
    from radiomics_features.grader.feature_model import (
        GRADES,
        average_probabilities,
        export_logistic,
    )
    from radiomics_features.grader.features import FEATURE_NAMES

    d = np.load(out / "train_arrays.npz")
    y, groups = d["pfirrmann"], d["patient"]
    Xa = feature_table(out, d).to_numpy(dtype=float)
    model = fit_feature_model(Xa, y, groups, np.arange(len(y)))
    o = np.load(out / "rules_oof.npz")
    reps = [int(r) for r in o["repeats"]]
    expected = np.concatenate(
        [
            average_probabilities(o[f"cnn_oof_r{r}"], o[f"feature_oof_r{r}"], CNN_WEIGHT) @ GRADES
            for r in reps
        ]
    )
    th = tune_thresholds(expected, np.tile(y, len(reps)))
    doc = export_logistic(
        model,
        FEATURE_NAMES,
        cnn_weight=CNN_WEIGHT,
        thresholds=th,
        extra={
            "training_discs": len(y),
            "training_patients": len(np.unique(groups)),
            "thresholds_tuned_on": (
                f"out-of-fold predictions of repeats {reps} of the patient-grouped CV "
                f"({len(reps)} x {len(y)} discs)"
            ),
        },
    )
    blob = (json.dumps(doc, indent=1) + "\n").encode("utf-8")
    (grader_dir / "feature_model.json").write_bytes(blob)
    side = grader_dir / "grader.json"
    meta = json.loads(side.read_text(encoding="utf-8"))
    meta["feature_model_file"] = "feature_model.json"
    meta["feature_model_sha256"] = hashlib.sha256(blob).hexdigest()
    side.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return {"C": doc["C"], "thresholds": doc["rule"]["thresholds"], "repeats": reps}


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
            "network, most probable grade",
            res["grade_argmax"],
            res["qw_kappa_ci95_by_patient_argmax"],
        ),
        _row(
            "network, expected grade rounded",
            res["grade_expected_rounded"],
            res["qw_kappa_ci95_by_patient_expected"],
        ),
    ]
    rules = res.get("rules") or {}
    for name, b in rules.get("models", {}).items():
        lines.append(
            _row(f"{name} [repeats {rules['repeats']}]", b["grade"], b["qw_kappa_ci95_by_patient"])
        )
    for name, b in res.get("baseline_same_discs", {}).items():
        lines.append(
            _row(
                f"baseline {name} (geometry + intensity)", b["grade"], b["qw_kappa_ci95_by_patient"]
            )
        )
    lines += [
        "",
        "| finding | positives | network AUC (mean, min–max over repeats) |",
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
    ap.add_argument("step", choices=["prepare", "baseline", "score", "export"])
    ap.add_argument("--dataset", type=Path, required=True, help="the build's --out folder")
    ap.add_argument(
        "--grader-dir",
        type=Path,
        default=Path(__file__).parent,
        help="export: the folder of grader.onnx / grader.json (default: the package's)",
    )
    ap.add_argument(
        "--oof", type=Path, default=None, help="folder with oof_r<k>.npz of train_cnn --cv (score)"
    )
    a = ap.parse_args(argv)
    if a.step == "prepare":
        res = prepare(a.dataset)
    elif a.step == "baseline":
        res = baseline(a.dataset)
    elif a.step == "score":
        res = score(a.dataset, a.oof or a.dataset / "cnn")
    else:
        res = export(a.dataset, a.grader_dir)
    sys.stdout.write(json.dumps(res, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
