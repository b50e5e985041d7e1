"""The bulk scorer's flag accounting: the summary's flag sections and their terminal lines.

Two kinds of flag, each in a column of the scored output and a section of the summary:

- ``out_of_range``: a number outside a model's training range, a category level its
  training rows never had, a missing value where they had none (``<col><min``,
  ``<col>>max``, ``<col>:unseen``, ``<col>:missing``) — the model extrapolates;
- ``in_training_tail``: a number inside the range but below the 1st or above the 99th
  percentile of the training values (``<col><p01``, ``<col>>p99``;
  :meth:`prom.models.ranges.NumericRange.tail_findings`). That is no extrapolation — 2%
  of the training rows lie there too — so it is counted apart; many rows in one tail
  point at a column measured on another scale.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["flag_sections", "flag_lines"]

_WORDS = {
    "out_of_range": "outside a model's training range",
    "in_training_tail": "in a training tail (inside the range, below its 1st or above its "
    "99th percentile)",
}


def flag_sections(
    rows_flagged: int, flags: Counter, rows_in_tail: int, tail_flags: Counter
) -> dict[str, dict]:
    """The summary's ``out_of_range`` and ``in_training_tail`` sections: rows flagged, and
    rows per flag."""
    return {
        "out_of_range": {"rows_flagged": rows_flagged, "by_flag": dict(sorted(flags.items()))},
        "in_training_tail": {
            "rows_flagged": rows_in_tail,
            "by_flag": dict(sorted(tail_flags.items())),
        },
    }


def flag_lines(report: dict) -> list[str]:
    """One terminal line per kind of flag that any row had (the five commonest flags)."""
    lines = []
    for key, words in _WORDS.items():
        section = report.get(key, {})
        if section.get("rows_flagged"):
            top = sorted(section["by_flag"].items(), key=lambda kv: -kv[1])[:5]
            lines.append(
                f"  {section['rows_flagged']:,} row(s) {words}: "
                + ", ".join(f"{k} {v:,}" for k, v in top)
            )
    return lines
