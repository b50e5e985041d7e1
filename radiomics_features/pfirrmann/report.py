"""The plain-text report of a Pfirrmann cross-validation."""

from __future__ import annotations

from radiomics_features.pfirrmann.dataset import is_radiomic_feature
from radiomics_features.pfirrmann.evaluation import PfirrmannResult

__all__ = ["format_report"]


def format_report(res: PfirrmannResult) -> str:
    """A short plain-text report of a
    :class:`~radiomics_features.pfirrmann.evaluation.PfirrmannResult`."""
    s = res.settings
    src = ", ".join(s["mask_source"] or ["?"])
    n_rad = sum(is_radiomic_feature(f) for f in s["features"])
    lines = [
        f"Pfirrmann grade from disc features: {s['n_discs']} discs of {s['n_patients']} "
        f"patients, masks: {src}; {len(s['features'])} features ({n_rad} radiomic); "
        f"{s['discs_with_missing_features']} disc(s) with some feature missing"
        + (
            f"; left out (missing for every disc): {', '.join(s['left_out_all_missing'])}"
            if s["left_out_all_missing"]
            else ""
        ),
        (
            f"{s['n_splits']}-fold stratified patient-grouped CV, {len(s['seeds'])} repeats "
            f"(seeds {s['seeds']}); spread over repeats. Grades kept as 1-5 (none merged):"
        ),
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
            (
                f"confusion, {model} (rows reference grade, columns predicted; "
                "mean counts per repeat):"
            ),
            cm.round(1).to_string(),
        ]
    lines += [
        "",
        "Spearman rho against grade:",
        res.spearman.to_string(index=False, float_format=lambda x: f"{x:.3g}"),
    ]
    return "\n".join(lines)
