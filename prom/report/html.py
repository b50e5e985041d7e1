"""A minimal, escaping HTML builder (no template engine is a dependency of prom).

Text is escaped unless it is :class:`Markup` (already-safe HTML this module built).
:func:`el` builds one element; :func:`table` a table from rows of cells; :func:`figure`
embeds a matplotlib ``Figure`` as a base64 PNG ``data:`` URI, so a report is one file that
opens offline. A number shown in a report is printed by :func:`num` and can carry its full
value in ``data-value`` (with ``data-task``/``data-model``/``data-metric``), which is what
the tests read back and compare with the metrics module.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Iterable, Mapping
from numbers import Real
from typing import Any

__all__ = ["Markup", "esc", "el", "join", "num", "ci", "cell", "table", "figure", "slug"]


class Markup(str):
    """A string of HTML that is already safe: inserted as is."""


def esc(value: Any) -> Markup:
    """Escaped text (Markup passes through unchanged)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def _attrs(attrs: Mapping[str, Any]) -> str:
    out = []
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = key.rstrip("_").replace("_", "-")
        if not re.fullmatch(r"[a-z][a-z0-9-]*", name):
            raise ValueError(f"attribute name {key!r} is not a plain HTML attribute name")
        out.append(name if value is True else f'{name}="{html.escape(str(value), quote=True)}"')
    return (" " + " ".join(out)) if out else ""


def el(tag: str, *children: Any, **attrs: Any) -> Markup:
    """``<tag attrs>children</tag>``; children are escaped unless Markup; ``class_`` → class,
    ``data_value`` → data-value; ``None``/``False`` attributes are left out."""
    if not re.fullmatch(r"[a-z][a-z0-9]*", tag):
        raise ValueError(f"tag {tag!r} is not a plain HTML tag name")
    body = "".join(esc(c) for c in _flatten(children))
    if tag in ("img", "br", "hr", "meta"):
        return Markup(f"<{tag}{_attrs(attrs)}>")
    return Markup(f"<{tag}{_attrs(attrs)}>{body}</{tag}>")


def _flatten(items: Iterable) -> Iterable:
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        elif item is not None:
            yield item


def join(*parts: Any) -> Markup:
    """Escaped parts concatenated."""
    return Markup("".join(esc(p) for p in _flatten(parts)))


def slug(text: str) -> str:
    """A stable element-id fragment: lower case, runs of other characters → ``-``."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def _finite(value) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def num(value, digits: int = 3, *, pct: bool = False, signed: bool = False) -> str:
    """A number for print: fixed ``digits`` decimals, ``–`` when missing or not finite."""
    if not _finite(value):
        return "–"
    v = 100 * value if pct else value
    return f"{v:+.{digits}f}" if signed else f"{v:.{digits}f}"


def ci(est, low, high, digits: int = 3, signed: bool = False) -> str:
    """``est (low to high)``; the estimate alone when the interval is missing."""
    if not (_finite(low) and _finite(high)):
        return num(est, digits, signed=signed)
    return (
        f"{num(est, digits, signed=signed)} ({num(low, digits, signed=signed)} to "
        f"{num(high, digits, signed=signed)})"
    )


def cell(text: Any, value=None, **data: Any) -> Markup:
    """A ``<td>`` carrying ``data-value`` (full precision) and ``data-*`` keys."""
    attrs = {f"data_{k}": v for k, v in data.items()}
    if _finite(value):
        attrs["data_value"] = repr(float(value))
    return el("td", text, **attrs)


def table(
    header: list,
    rows: Iterable[list],
    *,
    id: str | None = None,
    caption: Any = None,
    class_: str | None = None,
) -> Markup:
    """A table; a row item that is Markup starting with ``<td``/``<th`` is used as the cell."""
    head = el("thead", el("tr", [el("th", h) for h in header]))
    body = []
    for row in rows:
        cells = [
            c if isinstance(c, Markup) and c.startswith(("<td", "<th")) else el("td", c)
            for c in row
        ]
        body.append(el("tr", cells))
    return el(
        "table",
        el("caption", caption) if caption is not None else None,
        head,
        el("tbody", body),
        id=id,
        class_=class_,
    )


def figure(
    fig, *, id: str | None = None, caption: Any = None, alt: str = "", dpi: int = 110
) -> Markup:
    """A matplotlib ``Figure`` embedded as a base64 PNG (no file, no link)."""
    buf = io.BytesIO()
    # no bbox_inches="tight": it draws the figure twice; the figures use a layout engine
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    img = el("img", src=f"data:image/png;base64,{data}", alt=alt or str(caption or "figure"))
    return el("figure", img, el("figcaption", caption) if caption is not None else None, id=id)
