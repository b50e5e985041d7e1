"""Pfirrmann grade of each lumbar disc from its image features, on SPIDER, by patient.

The disc-level dataset: every SPIDER patient's five lumbar discs (``l1_l2 … l5_s1``),
measured by the shipped pipeline (:func:`~radiomics_features.pipeline.extract_batch`:
geometry, plus the pyradiomics features of each disc and of the canal beside it with
``radiomics=True``) on either the expert masks (``masks="truth"``) or the bundled
backbone's segmentation (``masks="backbone"``, the path a user's own scan takes), joined
to SPIDER's ``gradings.csv`` by level (``IVD label`` 1 = lowest disc = L5/S1). Nothing
is cached: the features are measured afresh from the shared data folder.

Two classifiers of the grade (1–5), compared under the same folds:

* ``logistic`` — multinomial logistic regression on standardised features (median
  imputation with missing indicators), L2 penalty; C picked from a small grid by an
  inner patient-grouped CV on quadratic-weighted kappa, the outcome metric (a fixed C
  would be a guess: the features range from 15 geometry columns to ~200 with the
  radiomic ones, and the right amount of shrinkage differs).
* ``boosting`` — scikit-learn's histogram gradient boosting, small and regularised
  a priori (depth-2 trees, ≥ 10 discs per leaf, learning rate 0.05, 150 rounds,
  L2 1.0): ~125 training discs and 5 classes leave nothing to tune on.

Evaluation: stratified patient-grouped k-fold CV (a patient's discs are never split
between train and test), repeated with several seeds. Each repeat pools its out-of-fold
predictions (every disc predicted once) into accuracy, quadratic-weighted Cohen's kappa
and within-one-grade accuracy; the spread is over repeats. The majority-class rule
(the training folds' most frequent grade) is scored the same way for context. All five
grades are kept as they are; the grade counts are reported (grade 1 is the rarest).

    python -m radiomics_features.pfirrmann [--data DIR] [--masks truth|backbone]
        [--radiomics] [--repeats 5] [--folds 5] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from radiomics_features.geometry import DISC_FEATURES
from radiomics_features.levels import DISC_LEVELS, disc_level_from_bottom

__all__ = [
    "DEFAULT_DATA",
    "GRADES",
    "MASK_SOURCES",
    "SPEARMAN_FEATURES",
    "GradeMetrics",
    "PfirrmannResult",
    "spider_ids",
    "read_gradings",
    "join_gradings",
    "measure_discs",
    "disc_dataset",
    "model_features",
    "grouped_splits",
    "grade_metrics",
    "make_models",
    "cross_validate_grades",
    "spearman_table",
    "format_report",
    "main",
]

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "spider-t2-lumbar"
GRADES: tuple[int, ...] = (1, 2, 3, 4, 5)
MASK_SOURCES: tuple[str, ...] = ("truth", "backbone")
SPEARMAN_FEATURES: tuple[str, ...] = (
    "disc_csf_signal_ratio",
    "disc_height_index",
    "disc_height_mm",
)
LOGISTIC_C_GRID: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0)
_ID_COLUMNS = ("patient", "level", "pfirrmann")


# ------------------------------------------------------------------------- the data
def _paths(data: Path, pid: int) -> tuple[Path, Path]:
    return data / f"spider_{pid:03d}_t2.nii.gz", data / f"spider_{pid:03d}_mask.nii.gz"


def spider_ids(data: Path) -> list[int]:
    """Patient ids with both an image and a mask in ``data``, ascending."""
    data = Path(data)
    ids = sorted(int(p.name.split("_")[1]) for p in data.glob("spider_*_t2.nii.gz"))
    ids = [i for i in ids if _paths(data, i)[1].is_file()]
    if not ids:
        raise FileNotFoundError(
            f"no spider_<id>_t2.nii.gz / spider_<id>_mask.nii.gz pairs in "
            f"{data}; pass --data pointing at the spider-t2-lumbar folder"
        )
    return ids


def read_gradings(data: Path) -> pd.DataFrame:
    """SPIDER's lumbar gradings: ``patient``, ``level`` (contract name), ``pfirrmann``."""
    path = Path(data) / "gradings.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; pass --data pointing at the "
            "spider-t2-lumbar folder (it holds gradings.csv)"
        )
    gr = pd.read_csv(path)
    need = {"Patient", "IVD label", "Pfirrman grade"}
    if not need <= set(gr.columns):
        raise ValueError(
            f"{path} lacks column(s) {sorted(need - set(gr.columns))}; "
            f"expected SPIDER's gradings.csv with {sorted(need)}"
        )
    gr = gr[gr["IVD label"].between(1, len(DISC_LEVELS))].copy()
    bad = gr.loc[~gr["Pfirrman grade"].isin(GRADES), "Pfirrman grade"]
    if len(bad):
        raise ValueError(
            f"{path}: {len(bad)} Pfirrmann grade(s) outside 1–5 "
            f"(rows {bad.index[:5].tolist()}, values {sorted(set(bad))[:5]})"
        )
    gr["level"] = [disc_level_from_bottom(int(n)) for n in gr["IVD label"]]
    gr = gr.rename(columns={"Patient": "patient", "Pfirrman grade": "pfirrmann"})
    return gr[list(_ID_COLUMNS)].astype({"patient": int, "pfirrmann": int}).reset_index(drop=True)


def join_gradings(discs: pd.DataFrame, data: Path) -> pd.DataFrame:
    """Inner join of per-disc rows (``patient``, ``level``) to the Pfirrmann grades."""
    return discs.merge(read_gradings(data), on=["patient", "level"], how="inner")


def measure_discs(
    data: Path = DEFAULT_DATA,
    ids: Sequence[int] | None = None,
    *,
    masks: str = "truth",
    radiomics: bool = False,
    workers: int = 1,
    strict: bool = False,
) -> pd.DataFrame:
    """Disc rows (``patient``, ``mask_source``, ``level``, geometry, ``rad_*``,
    ``level_position``) of every patient in ``data`` (or of ``ids``).

    Runs :func:`~radiomics_features.pipeline.extract_batch`, the shipped path, in
    ``workers`` processes: ``masks="truth"`` measures the expert masks, ``"backbone"``
    segments each image with the bundled network. A disc the levelling does not find
    keeps its row, with NaN features and a ``reason``. A patient that fails is left out
    with a printed reason unless ``strict``; ``df.attrs["failures"]`` lists them.
    """
    from radiomics_features.pipeline import Case, extract_batch

    if masks not in MASK_SOURCES:
        raise ValueError(f"masks must be one of {MASK_SOURCES}, got {masks!r}")
    data = Path(data)
    wanted = spider_ids(data) if ids is None else [int(i) for i in ids]
    cases = []
    for pid in wanted:
        img, mask = _paths(data, pid)
        cases.append(Case(str(pid), img, mask if masks == "truth" else None))
    batch = extract_batch(cases, workers=max(1, int(workers)), radiomics=radiomics)
    failures = [
        f"patient {r.patient_id} ({r.stage}): {r.error_type}: {r.message}"
        for r in batch.errors.itertuples()
    ]
    if failures and strict:
        raise RuntimeError("; ".join(failures))
    for msg in failures:
        print(f"left out: {msg}", file=sys.stderr)
    if batch.n_ok == 0:
        raise RuntimeError(
            f"no patient could be measured ({len(failures)} failed): " + "; ".join(failures[:3])
        )
    long = batch.long
    discs = long[long["kind"] == "disc"]
    out = discs.drop(
        columns=["patient_id", "kind", *(c for c in long.columns if c.startswith("prov_"))]
    )
    out.insert(0, "patient", discs["patient_id"].astype(int).to_numpy())
    out.insert(1, "mask_source", masks)
    out["level_position"] = [DISC_LEVELS.index(lev) for lev in out["level"]]
    out = out.reset_index(drop=True)
    out.attrs["failures"] = failures
    return out


def disc_dataset(
    data: Path = DEFAULT_DATA,
    *,
    masks: str = "truth",
    radiomics: bool = False,
    ids: Sequence[int] | None = None,
    workers: int = 1,
    strict: bool = False,
) -> pd.DataFrame:
    """:func:`measure_discs` joined to the Pfirrmann grades (one row per graded disc)."""
    discs = measure_discs(
        data, ids, masks=masks, radiomics=radiomics, workers=workers, strict=strict
    )
    out = join_gradings(discs, data)
    out.attrs["failures"] = discs.attrs["failures"]
    return out


def _is_radiomic_feature(column: str) -> bool:
    # rad_* columns are features except the ROI bookkeeping (voxel count, reason)
    return column.startswith("rad_") and not column.endswith(("_n_voxels", "_reason"))


def model_features(df: pd.DataFrame) -> list[str]:
    """Predictors: the disc geometry, the disc's position (0 = L1/L2 … 4 = L5/S1), and
    the radiomic features of the disc (``rad_*``) and of the canal beside it
    (``rad_canal_*``) when present; a column missing for every disc is left out (e.g.
    ``disc_volume_mm3`` when every disc reaches the edge slices of a thin stack)."""
    if "level_position" not in df:
        raise KeyError("column 'level_position' missing; build the table with disc_dataset")
    cols = [*DISC_FEATURES, "level_position", *(c for c in df.columns if _is_radiomic_feature(c))]
    absent = [c for c in cols if c not in df]
    if absent:
        raise KeyError(f"feature column(s) {absent} not in the table; build it with disc_dataset")
    return [c for c in cols if df[c].notna().any()]


# ----------------------------------------------------------------- splits and metrics
def grouped_splits(
    y, groups, *, n_splits: int = 5, seeds: Sequence[int] = (0, 1, 2, 3, 4)
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    """Yield ``(repeat, fold, train_idx, test_idx)``: stratified patient-grouped k-fold,
    one partition per seed. A group (patient) is never in both train and test."""
    from sklearn.model_selection import StratifiedGroupKFold

    y, groups = np.asarray(y), np.asarray(groups)
    if len(y) != len(groups):
        raise ValueError(f"y has {len(y)} rows but groups has {len(groups)}")
    n_groups = len(np.unique(groups))
    if n_groups < n_splits:
        raise ValueError(
            f"{n_groups} patient(s) cannot fill {n_splits} folds; "
            f"use at most {n_groups} folds or more patients"
        )
    for r, seed in enumerate(seeds):
        cv = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=int(seed))
        for f, (tr, te) in enumerate(cv.split(np.zeros(len(y)), y, groups)):
            yield r, f, tr, te


@dataclass(frozen=True)
class GradeMetrics:
    """Agreement of predicted with reference grades (all higher-is-better)."""

    n: int
    accuracy: float
    qw_kappa: float
    within_one: float


def grade_metrics(y_true, y_pred, grades: Sequence[int] = GRADES) -> GradeMetrics:
    """Accuracy, quadratic-weighted Cohen's kappa and within-one-grade accuracy.

    ``grades`` fixes the ordinal scale, so the kappa weight of a disagreement is its
    distance in grades even when a grade occurs in neither vector. Kappa is NaN when
    both vectors hold one and the same grade (it is 0/0 then).
    """
    from sklearn.metrics import cohen_kappa_score

    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise ValueError(f"need two 1D vectors of equal, non-zero length; got {t.shape}, {p.shape}")
    unknown = sorted({v.item() for v in np.unique(np.r_[t, p])} - set(grades))
    if unknown:
        raise ValueError(f"grade(s) {unknown} are not on the scale {tuple(grades)}")
    if len(np.unique(np.r_[t, p])) == 1:
        kappa = float("nan")  # one grade only: chance agreement is perfect, kappa is 0/0
    else:
        kappa = float(cohen_kappa_score(t, p, labels=list(grades), weights="quadratic"))
    return GradeMetrics(
        int(t.size),
        float(np.mean(t == p)),
        kappa,
        float(np.mean(np.abs(t.astype(int) - p.astype(int)) <= 1)),
    )


# ------------------------------------------------------------------------- models
def _kappa_scorer():
    from sklearn.metrics import make_scorer

    return make_scorer(lambda t, p: grade_metrics(t, p).qw_kappa)


def make_models(seed: int = 0, *, inner_splits: int = 4) -> dict:
    """The two unfitted classifiers (see the module docstring), by name."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    logistic = GridSearchCV(
        make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(max_iter=5000),
        ),
        {"logisticregression__C": list(LOGISTIC_C_GRID)},
        scoring=_kappa_scorer(),
        cv=StratifiedGroupKFold(n_splits=inner_splits),
        n_jobs=1,
    )
    boosting = HistGradientBoostingClassifier(
        learning_rate=0.05,
        max_iter=150,
        max_depth=2,
        min_samples_leaf=10,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=seed,
    )
    return {"logistic": logistic, "boosting": boosting}


@dataclass(frozen=True)
class PfirrmannResult:
    """Cross-validated grade prediction: per-repeat metrics, their summary, the mean
    confusion matrix per model (rows reference grade, columns predicted; mean counts
    per repeat), the grade counts, Spearman's rho and the settings used."""

    per_repeat: pd.DataFrame
    summary: pd.DataFrame
    confusion: dict[str, pd.DataFrame]
    grade_counts: pd.DataFrame
    spearman: pd.DataFrame
    settings: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "settings": self.settings,
            "summary": self.summary.to_dict(orient="records"),
            "per_repeat": self.per_repeat.to_dict(orient="records"),
            "confusion": {
                m: {
                    "grades": [int(g) for g in c.index],
                    "mean_counts": c.to_numpy().round(3).tolist(),
                }
                for m, c in self.confusion.items()
            },
            "grade_counts": self.grade_counts.to_dict(orient="records"),
            "spearman": self.spearman.to_dict(orient="records"),
        }


def _inner_cv(y, groups, n_splits: int):
    """Patient-grouped inner folds: stratified when every grade can fill every fold,
    else plain grouped folds (a rare grade then misses some inner training sets)."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    n = min(n_splits, len(np.unique(groups)))
    if np.unique(y, return_counts=True)[1].min() >= n:
        return StratifiedGroupKFold(n_splits=n)
    return GroupKFold(n_splits=n)


def _fit_predict(model, X, y, groups, tr, te) -> np.ndarray:
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    m = clone(model)
    if isinstance(m, GridSearchCV):
        m.set_params(cv=_inner_cv(y[tr], groups[tr], m.cv.get_n_splits()))
        m.fit(X[tr], y[tr], groups=groups[tr])
    else:
        m.fit(X[tr], y[tr])
    return m.predict(X[te])


def cross_validate_grades(
    df: pd.DataFrame,
    *,
    features: Sequence[str] | None = None,
    n_splits: int = 5,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    models: dict | None = None,
) -> PfirrmannResult:
    """Repeated patient-grouped CV of every model and the majority-class rule."""
    missing = [c for c in ("patient", "pfirrmann") if c not in df]
    if missing:
        raise KeyError(f"column(s) {missing} missing; expected the disc_dataset table")
    features = list(model_features(df) if features is None else features)
    absent = [c for c in features if c not in df]
    if absent:
        raise KeyError(f"feature column(s) {absent} not in the table")
    X = df[features].to_numpy(dtype=float)
    y = df["pfirrmann"].to_numpy(dtype=int)
    groups = df["patient"].to_numpy()
    models = make_models(int(seeds[0])) if models is None else models
    names = [*models, "majority"]
    oof = {(m, r): np.zeros(len(y), dtype=int) for m in names for r in range(len(seeds))}
    from threadpoolctl import threadpool_limits

    for r, _f, tr, te in grouped_splits(y, groups, n_splits=n_splits, seeds=seeds):
        # ~150 rows: one thread is faster than OpenMP's start-up, and does not spin
        # against other work on a busy machine
        with threadpool_limits(limits=1):
            for name, model in models.items():
                oof[name, r][te] = _fit_predict(model, X, y, groups, tr, te)
        values, counts = np.unique(y[tr], return_counts=True)
        oof["majority", r][te] = values[np.argmax(counts)]

    from sklearn.metrics import confusion_matrix

    rows, confusion = [], {}
    for name in names:
        cms = []
        for r, seed in enumerate(seeds):
            g = grade_metrics(y, oof[name, r])
            rows.append(
                {
                    "model": name,
                    "repeat": r,
                    "seed": int(seed),
                    "n_discs": g.n,
                    "accuracy": g.accuracy,
                    "qw_kappa": g.qw_kappa,
                    "within_one": g.within_one,
                }
            )
            cms.append(confusion_matrix(y, oof[name, r], labels=list(GRADES)))
        confusion[name] = pd.DataFrame(
            np.mean(cms, axis=0),
            index=pd.Index(GRADES, name="grade"),
            columns=pd.Index(GRADES, name="predicted"),
        )
    per_repeat = pd.DataFrame(rows)
    summary = (
        per_repeat.melt(
            id_vars=["model", "repeat"],
            value_vars=["accuracy", "qw_kappa", "within_one"],
            var_name="metric",
        )
        .groupby(["model", "metric"], sort=False)["value"]
        .agg(
            mean="mean",
            sd=lambda v: v.std(ddof=1) if len(v) > 1 else np.nan,
            min="min",
            max="max",
            n_repeats="size",
        )
        .reset_index()
    )
    counts = (
        df.groupby("pfirrmann")
        .agg(n_discs=("patient", "size"), n_patients=("patient", "nunique"))
        .reindex(GRADES, fill_value=0)
        .rename_axis("grade")
        .reset_index()
    )
    settings = {
        "n_discs": len(y),
        "n_patients": len(np.unique(groups)),
        "n_splits": int(n_splits),
        "seeds": [int(s) for s in seeds],
        "features": features,
        "grades": list(GRADES),
        "left_out_all_missing": [
            c
            for c in df.columns
            if c not in features
            and (c in DISC_FEATURES or _is_radiomic_feature(c))
            and df[c].isna().all()
        ],
        "logistic_C_grid": list(LOGISTIC_C_GRID),
        "mask_source": sorted(df["mask_source"].unique()) if "mask_source" in df else None,
        "discs_with_missing_features": int(np.isnan(X).any(axis=1).sum()),
    }
    return PfirrmannResult(per_repeat, summary, confusion, counts, spearman_table(df), settings)


def spearman_table(df: pd.DataFrame, features: Sequence[str] = SPEARMAN_FEATURES) -> pd.DataFrame:
    """Spearman's rho (and p) of each feature against the Pfirrmann grade."""
    from scipy.stats import spearmanr

    rows = []
    for f in features:
        ok = df[[f, "pfirrmann"]].dropna()
        res = spearmanr(ok[f], ok["pfirrmann"])
        rows.append(
            {
                "feature": f,
                "n_discs": len(ok),
                "n_patients": df.loc[ok.index, "patient"].nunique(),
                "rho": float(res.statistic),
                "p": float(res.pvalue),
            }
        )
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------- report
def format_report(res: PfirrmannResult) -> str:
    """A short plain-text report of a :class:`PfirrmannResult`."""
    s = res.settings
    src = ", ".join(s["mask_source"] or ["?"])
    n_rad = sum(_is_radiomic_feature(f) for f in s["features"])
    lines = [
        f"Pfirrmann grade from disc features: {s['n_discs']} discs of {s['n_patients']} "
        f"patients, masks: {src}; {len(s['features'])} features ({n_rad} radiomic); "
        f"{s['discs_with_missing_features']} disc(s) with some feature missing"
        + (
            f"; left out (missing for every disc): {', '.join(s['left_out_all_missing'])}"
            if s["left_out_all_missing"]
            else ""
        ),
        f"{s['n_splits']}-fold stratified patient-grouped CV, {len(s['seeds'])} repeats "
        f"(seeds {s['seeds']}); spread over repeats. Grades kept as 1-5 (none merged):",
        "  "
        + ", ".join(
            f"grade {r.grade}: {r.n_discs} discs / {r.n_patients} patients"
            for r in res.grade_counts.itertuples()
        ),
        "",
        f"{'model':<10} {'accuracy':>22} {'QW kappa':>22} {'within one grade':>22}",
    ]
    summ = res.summary.set_index(["model", "metric"])
    for model in res.summary["model"].unique():
        cells = []
        for metric in ("accuracy", "qw_kappa", "within_one"):
            r = summ.loc[(model, metric)]
            cells.append(f"{r['mean']:.3f} ± {r['sd']:.3f} [{r['min']:.2f}-{r['max']:.2f}]")
        lines.append(f"{model:<10} " + " ".join(f"{c:>22}" for c in cells))
    lines.append(
        "(mean ± SD [min-max] over repeats; majority = each training fold's most "
        "frequent grade: kappa 0 when that grade is the same in every fold)"
    )
    for model, cm in res.confusion.items():
        if model == "majority":
            continue
        lines += [
            "",
            f"confusion, {model} (rows reference grade, columns predicted; "
            "mean counts per repeat):",
            cm.round(1).to_string(),
        ]
    lines += [
        "",
        "Spearman rho against grade:",
        res.spearman.to_string(index=False, float_format=lambda x: f"{x:.3g}"),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="the spider-t2-lumbar folder (default: the repository's sibling "
        "shared/data/spider-t2-lumbar)",
    )
    ap.add_argument(
        "--masks",
        choices=MASK_SOURCES,
        default="truth",
        help="measure the expert masks or the bundled backbone's segmentation",
    )
    ap.add_argument(
        "--radiomics",
        action="store_true",
        help="add the pyradiomics features of each disc and the canal beside it",
    )
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="first seed; repeats use seed, seed+1, …")
    ap.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="patients measured in parallel (processes)",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=None,
        help="directory for pfirrmann_{summary,per_repeat,discs}_<tag>.csv and "
        "pfirrmann_report_<tag>.json; tag = mask source (+ _radiomics)",
    )
    args = ap.parse_args(argv)
    if not (args.data / "gradings.csv").exists():
        print(
            f"no SPIDER data at {args.data} (expected gradings.csv and spider_*_t2.nii.gz); "
            "pass --data",
            file=sys.stderr,
        )
        return 2
    t0 = time.perf_counter()
    df = disc_dataset(args.data, masks=args.masks, radiomics=args.radiomics, workers=args.workers)
    t1 = time.perf_counter()
    res = cross_validate_grades(
        df, n_splits=args.folds, seeds=tuple(range(args.seed, args.seed + args.repeats))
    )
    t2 = time.perf_counter()
    print(format_report(res))
    print(f"\nfeatures measured in {t1 - t0:.0f} s, models cross-validated in {t2 - t1:.0f} s")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        tag = f"{args.masks}{'_radiomics' if args.radiomics else ''}"
        res.summary.assign(mask_source=args.masks, radiomics=args.radiomics).to_csv(
            args.out / f"pfirrmann_summary_{tag}.csv", index=False
        )
        res.per_repeat.to_csv(args.out / f"pfirrmann_per_repeat_{tag}.csv", index=False)
        df.to_csv(args.out / f"pfirrmann_discs_{tag}.csv", index=False)
        (args.out / f"pfirrmann_report_{tag}.json").write_text(
            json.dumps(res.to_json(), indent=2, default=float), encoding="utf-8"
        )
        print(f"written to {args.out} (files tagged '{tag}')")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
