"""A griffe extension for the documentation site: the code's reST-ish docstrings as Markdown.

The package's docstrings are written in a light reStructuredText style (Sphinx roles such
as :func:`name`, literal blocks introduced by ``::``, doctest examples, simple tables).
mkdocstrings renders docstrings as Markdown, where those read badly: a role shows its
``:func:`` prefix, ``>>>`` starts a block quote, a simple table is run together. This
extension rewrites each docstring's text once it is loaded (before mkdocstrings parses
it), changing only markup:

- ``:role:`target``` and ``:role:`~a.b.target``` become inline code (``target``; with
  ``~`` only the last component, as Sphinx shows it);
- a paragraph ending in ``::`` ends in ``:`` (or in nothing after a space, or the line
  is dropped when it is only ``::``), the indented block after it staying a code block;
- doctest examples (lines from ``>>>`` to the next blank line) become ``pycon`` code
  blocks;
- simple tables (``====  ====`` borders) become plain-text code blocks, keeping their
  alignment;
- prose after a numpy-style ``Parameters`` (or ``Returns``, ``Raises``, ...) section,
  separated from it by a blank line, gets a ``Notes`` heading: without one the numpy
  parser reads its first word as one more parameter.

The code's docstrings are not edited; ``mkdocs.yml`` loads this file
(``extensions: [docs/griffe_rest_markup.py]``) and ``exclude_docs`` keeps it off the site.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const|term|ref)"
    r":`(~?)([^`<]+?)(?:\s*<([^>]+)>)?`"
)
_TABLE_BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")
# numpy sections whose entries are "name : description" lines
_ENTRY_SECTIONS = {
    "Parameters",
    "Other Parameters",
    "Returns",
    "Yields",
    "Receives",
    "Raises",
    "Warns",
    "Attributes",
}
# an entry line: "name", "a, b", "*args", optionally followed by " : ..."
_ENTRY = re.compile(r"^\*{0,2}[A-Za-z_]\w*(\s*,\s*\*{0,2}[A-Za-z_]\w*)*\s*(:.*)?$")


def _role(match: re.Match[str]) -> str:
    tilde, text, target = match.group(1), match.group(2).strip(), match.group(3)
    if target:  # :ref:`title <target>` shows its title
        return f"`{text}`"
    shown = text.split(".")[-1] if tilde else text
    return f"`{shown}`"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def rest_to_markdown(text: str) -> str:
    """The docstring ``text`` with its reST markup rewritten as Markdown (see the module)."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    fence_open = False
    entries_at: int | None = None  # indentation of the numpy entry section we are in
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if stripped and _UNDERLINE.match(nxt) and not fence_open:
            entries_at = _indent(line) if stripped in _ENTRY_SECTIONS else None
        elif (
            entries_at is not None
            and stripped
            and _indent(line) == entries_at
            and not _UNDERLINE.match(line)
            and not lines[i - 1].strip()
            and not _ENTRY.match(stripped)
        ):
            pad = line[:entries_at]
            out.extend([f"{pad}Notes", f"{pad}-----"])
            entries_at = None
        if stripped.startswith("```"):
            fence_open = not fence_open
            out.append(line)
            i += 1
            continue
        if fence_open:
            out.append(line)
            i += 1
            continue
        if stripped.startswith(">>>"):
            # a doctest: from here to the next blank line
            pad = line[: _indent(line)]
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out.extend([f"{pad}```pycon", *block, f"{pad}```"])
            continue
        if _TABLE_BORDER.match(line):
            # a simple table: top border, rows, a border under the header, rows, bottom
            # border; it ends at the third border (or the second one before a blank line)
            pad = line[: _indent(line)]
            block = [line]
            borders = 1
            i += 1
            while i < len(lines):
                block.append(lines[i])
                if _TABLE_BORDER.match(lines[i]):
                    borders += 1
                    ends = borders == 3 or i + 1 >= len(lines) or not lines[i + 1].strip()
                    if ends:
                        i += 1
                        break
                i += 1
            out.extend([f"{pad}```text", *block, f"{pad}```"])
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            if stripped == "::":
                line = ""
            elif line.rstrip().endswith(" ::"):
                line = line.rstrip()[:-3]
            else:
                line = line.rstrip()[:-1]
        out.append(_ROLE.sub(_role, line))
        i += 1
    return "\n".join(out)


class RestMarkup(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`rest_to_markdown`."""

    def on_object(self, *, obj: griffe.Object, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rest_to_markdown(obj.docstring.value)


class DocumentOnce(griffe.Extension):
    """Document each object once, in the module that defines it.

    A package re-exports its submodules' names (``from prom.instruments.base import
    Band``); its reference page shows the package and, with ``show_submodules``, every
    submodule, so a re-exported name would be documented twice. This removes from each
    package the aliases whose target lies inside that package (and from each plain module
    those whose target lies inside its own package); aliases to other packages, which are
    documented on no other page, and everything a module defines itself stay.
    """

    def on_package(self, *, pkg: griffe.Module, loader: griffe.GriffeLoader, **kwargs: Any) -> None:
        self._prune(pkg)

    def _prune(self, module: griffe.Module) -> None:
        scope = module.path if module.is_package or module.parent is None else module.parent.path
        for name, member in list(module.members.items()):
            if isinstance(member, griffe.Alias):
                if member.target_path.startswith(scope + "."):
                    module.del_member(name)
            elif isinstance(member, griffe.Module):
                self._prune(member)
