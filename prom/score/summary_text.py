"""The few lines ``prom score`` prints about a run, read from its summary
(:func:`prom.score.run.score_file`'s report): counts, tasks, flags, notable drift,
outcome cells left out and calibration."""

from __future__ import annotations

from prom.score.drift import PSI_MODERATE, ROWS_PER_BIN
from prom.score.flags import flag_lines

__all__ = ["summary_lines"]


def summary_lines(report: dict) -> list[str]:
    """A few lines for a terminal: counts, tasks, flags, notable drift, calibration."""
    from prom.score.missing import missing_lines

    r = report["rows"]
    lines = [
        (
            f"read {r['read']:,} row(s): scored {r['scored']:,}, quarantined "
            f"{r['quarantined']:,} ({r['problems']:,} problem(s))"
        )
    ]
    if r["read"] == 0:  # a header and nothing else: an export that stopped early?
        lines.append(
            "  caution: the input holds no data rows (a header only, or an empty table): "
            "nothing was scored"
        )
    if report["options"].get("id_column"):
        lines.append(f"  {report['options']['id_column']}")
    if report["quarantine_by_check"]:
        lines.append(
            "  quarantined by check: "
            + ", ".join(f"{k} {v:,}" for k, v in report["quarantine_by_check"].items())
        )
    commas = report.get("quarantined_decimal_comma_values") or {}
    if commas:
        columns = sorted(commas, key=lambda c: -commas[c])
        shown = ", ".join(columns[:4]) + (
            f", … ({len(columns)} columns)" if len(columns) > 4 else ""
        )
        how = (
            "if the file writes its numbers so, read it with --decimal ','"
            if (report.get("input") or {}).get("kind") == "csv"
            else "they are text in the table: write them as numbers in its source (--decimal "
            "is for CSV files)"
        )
        lines.append(
            f"  hint: {sum(commas.values()):,} of the values refused as not numbers are numbers "
            f"written with a decimal comma (in {shown}); {how}"
        )
    for name, t in report["tasks"].items():
        extra = f", reasons for {t['reasons']:,}" if "reasons" in t else ""
        lines.append(
            f"  {name} ({t['model']}): {t['scored']:,} scored, "
            f"{t['not_in_population']:,} outside its population{extra}"
        )
    lines += _given_score_lines(report)
    lines += missing_lines(report)
    lines += flag_lines(report)
    unjudged = []
    for name, feats in report["drift"]["tasks"].items():
        few = [f for f in feats.values() if f.get("shift") == "not judged"]
        if few:
            rows = min(f["n"] for f in few)
            unjudged.append(f"{name} {len(few)} of {len(feats)} ({rows:,} row(s))")
        shifted = [
            f"{c} ({f['shift']}, PSI {f['psi']:.2f})"
            for c, f in feats.items()
            if f.get("shift") in ("moderate", "major") and f.get("psi") is not None
        ]
        if shifted:
            lines.append(
                f"  drift, {name}: "
                + ", ".join(shifted[:6])
                + (f", … ({len(shifted)} in all)" if len(shifted) > 6 else "")
            )
    if unjudged:
        lines.append(
            f"  drift not judged on too few scored rows ({ROWS_PER_BIN} per degree of freedom "
            f"of the predictor's bins, {10 * ROWS_PER_BIN} for a number; on fewer, sampling "
            f"alone gives PSI readings around {PSI_MODERATE:g} and above), predictors per "
            "task: " + ", ".join(unjudged)
        )
    ignored = report["outcome_values_ignored"]
    if ignored:
        lines.append(
            "  outcome values left out of the calibration check (not a value the outcome "
            "takes, nor empty): " + ", ".join(f"{c} {k:,}" for c, k in ignored.items())
        )
    for name, c in report["calibration"].items():
        if c.get("o_e_ratio") is not None:
            lines.append(
                f"  calibration, {name}: observed {c['observed']:.3f}, expected "
                f"{c['expected']:.3f}, O/E {c['o_e_ratio']:.2f} "
                f"(n = {c['n_with_outcome']:,})"
            )
        elif isinstance(c.get("by_class"), dict) and c["by_class"]:  # several classes
            per = [
                f"{k} {v['observed']:.3f}/{v['expected']:.3f} (O/E {v['o_e_ratio']:.2f})"
                for k, v in c["by_class"].items()
                if v.get("o_e_ratio") is not None
            ]
            lines.append(
                f"  calibration, {name}, observed/expected by class: {', '.join(per)} "
                f"(n = {c['n_with_outcome']:,})"
            )
        elif c.get("note"):  # e.g. a survival task: said, not left out
            lines.append(f"  calibration, {name}: {c['note']}")
    b = report["bundle"]
    lines.append(f"bundle {b['bundle_id'][:12]}: {b['trust']['description']}")
    lines.append(
        f"scored_at {report['scored_at']} (re-run with --scored-at "
        f"{report['scored_at']} for the same bytes)"
    )
    return lines


def _given_score_lines(report: dict) -> list[str]:
    """The input's own PROM scores beside their items (:mod:`prom.instruments.given`)."""
    from prom.instruments.given import TOLERANCE

    lines = []
    ignored = report.get("outcome_values_ignored") or {}
    for col, c in (report.get("proms_scored_from_items") or {}).items():
        parts = []
        if ignored.get(col):  # read leniently: a value the contract refuses is not used
            parts.append(f"{ignored[col]:,} value(s) outside the data contract (not used)")
        if c.get("input_differs"):
            parts.append(
                f"differs from its items' score by more than {TOLERANCE:g} points on "
                f"{c['input_differs']:,} row(s) (the items' used)"
            )
        if c.get("as_given"):
            parts.append(f"used as given on {c['as_given']:,} row(s) whose items give no score")
        if c.get("input_unusable"):
            parts.append(
                f"outside the score's range on {c['input_unusable']:,} row(s) whose items give "
                "no score (not used)"
            )
        if parts:
            lines.append(f"  the input's {col}: " + "; ".join(parts))
    return lines
