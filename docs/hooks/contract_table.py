"""An MkDocs hook: the data-contract page's column table, generated from the contract itself.

``docs/data-contract.md`` holds the marker ``<!-- contract-table -->``; this hook replaces
it with a Markdown table of :data:`prom.cohort.COHORT_CONTRACT`'s declared columns
(repeated families — PROM items and scores at each time point, per-level imaging features,
simulator truth — summarised by a count and one example), so the page cannot drift from
the declarations. It imports ``prom.cohort`` (pure Python, no heavy extras).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

MARKER = "<!-- contract-table -->"
# roles listed column by column; the others are summarised per role
LISTED_ROLES = ("id", "context", "predictor", "treatment", "anchor", "outcome")


def _bounds(spec: Any) -> str:
    if spec.dtype == "category" and spec.categories:
        return ", ".join(f"`{c}`" for c in spec.categories)
    if spec.low is None and spec.high is None:
        return ""
    low = "" if spec.low is None else f"{spec.low:g}"
    high = "" if spec.high is None else f"{spec.high:g}"
    return f"{low} – {high}"


def contract_table() -> str:
    """The Markdown table (and the per-role summary) of the cohort contract."""
    from prom.cohort import COHORT_CONTRACT

    rows = [
        "| column | role | type | unit | allowed | may be missing | required | description |",
        "|---|---|---|---|---|---|---|---|",
    ]
    grouped: dict[str, list[Any]] = defaultdict(list)
    for spec in COHORT_CONTRACT:
        if spec.role in LISTED_ROLES:
            rows.append(
                f"| `{spec.name}` | {spec.role} | {spec.dtype} | {spec.unit or ''} "
                f"| {_bounds(spec)} | {'yes' if spec.nullable else 'no'} "
                f"| {'yes' if spec.required else 'no'} | {spec.description} |"
            )
        else:
            grouped[spec.role].append(spec)
    summary = ["", "| role | columns | example | example's meaning |", "|---|---|---|---|"]
    for role, specs in grouped.items():
        first = specs[0]
        summary.append(f"| {role} | {len(specs)} | `{first.name}` | {first.description} |")
    header = (
        f"Contract `{COHORT_CONTRACT.name}`, version {COHORT_CONTRACT.version}: "
        f"{len(COHORT_CONTRACT)} declared columns."
    )
    return "\n".join([header, "", *rows, *summary])


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """MkDocs event: fill the marker on the page that has it."""
    if MARKER in markdown:
        return markdown.replace(MARKER, contract_table())
    return markdown
