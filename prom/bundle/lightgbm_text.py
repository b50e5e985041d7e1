"""The structural check of a LightGBM text model (``model.txt``), in Python.

LightGBM's loader trusts its input: a tree whose arrays are shorter than its
``num_leaves`` says makes it abort the process, ``tree_sizes`` that point past the end of
the file or a child index outside the tree crash it. :func:`lightgbm_text_summary` reads
the file first and refuses it unless it has the shape LightGBM 4 writes and this
package uses:

- UTF-8 text without NUL or carriage-return bytes, ending with a complete line;
- the header: ``tree``, ``version=v4``, ``num_class``, ``num_tree_per_iteration`` (equal to
  ``num_class``: one tree per class and iteration), ``label_index=0``,
  ``max_feature_idx``, an ``objective`` of a classifier (``binary`` or ``multiclass``),
  ``feature_names`` and ``feature_infos`` with ``max_feature_idx + 1`` entries, and
  ``tree_sizes`` when present;
- every ``Tree=`` block numbered in order, with known keys only, numbers that parse and
  are finite, every array of the length its ``num_leaves`` implies (at most LightGBM's
  own limit, :data:`MAX_LEAVES`), children that form one tree (each node below the root
  reached exactly once), split features that exist, numerical splits only — no
  categorical or linear trees (this package one-hot encodes before boosting);
- ``tree_sizes`` equal to the blocks' byte sizes, and ``end of trees``;
- after the trees only feature importances, a ``parameters:`` section of
  ``[name: value]`` lines in the characters LightGBM turns into JSON without quoting, and
  a last ``pandas_categorical:`` line of valid JSON.
"""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np

from prom.bundle.booster_types import WHOLE_NUMBER, BoosterSummary
from prom.bundle.manifest import BundleError

__all__ = ["MAX_LEAVES", "lightgbm_text_summary"]

#: LightGBM's own upper limit of ``num_leaves``.
MAX_LEAVES = 131072

#: A number as LightGBM writes one (at most 17 significant digits, ``%.17g``); only one
#: with a three-digit positive exponent can be too large for a double (checked apart).
_NUM = r"[+-]?(?:\d{1,20}(?:\.\d{0,20})?|\.\d{1,20})(?:[eE][+-]?\d{1,3})?"
_BIG_EXPONENT = re.compile(r"[eE]\+?\d{3}")
_INT = r"-?\d{1,10}"
_FLOATS = re.compile(rf"(?:{_NUM}(?: {_NUM})*)?")
_INTS = re.compile(rf"(?:{_INT}(?: {_INT})*)?")
_FLOAT_ONE = re.compile(_NUM)
#: ``[name: value]`` lines of the parameters section; values limited to characters that
#: LightGBM turns into JSON without quoting problems.
_PARAM = re.compile(r"\[([a-z0-9_]+): ([A-Za-z0-9_.,:+\-/ ]*)\]")
_IMPORTANCE = re.compile(r"[^=\s]+=\d{1,12}")

#: Tree keys: array length in terms of the number of leaves n (n - 1 or n), or 0 for
#: scalars; int or float.
_TREE_KEYS: dict[str, tuple[int, type]] = {
    "num_leaves": (0, int),
    "num_cat": (0, int),
    "is_linear": (0, int),
    "shrinkage": (0, float),
    "split_feature": (-1, int),
    "split_gain": (-1, float),
    "threshold": (-1, float),
    "decision_type": (-1, int),
    "left_child": (-1, int),
    "right_child": (-1, int),
    "internal_value": (-1, float),
    "internal_weight": (-1, float),
    "internal_count": (-1, int),
    "leaf_value": (1, float),
    "leaf_weight": (1, float),
    "leaf_count": (1, int),
}
#: The objectives of this package's classifiers (binary and multi-class).
_LGB_OBJECTIVES = ("binary", "multiclass")


class _LightGBMText:
    def __init__(self, data: bytes, where: str):
        self.data, self.where = data, where

    def bad(self, problem: str, line: int | None = None) -> BundleError:
        at = f" (line {line})" if line is not None else ""
        return BundleError(f"{self.where}: malformed LightGBM model{at}: {problem}; refusing it")

    def summary(self) -> BoosterSummary:
        data = self.data
        for byte, name in ((b"\0", "a NUL byte"), (b"\r", "a carriage return")):
            if byte in data:
                raise self.bad(f"{name} at byte {data.index(byte)} (LightGBM writes none)")
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise self.bad(f"not UTF-8 text (byte {e.start})") from None
        if not data.endswith(b"\n"):
            raise self.bad("the last line is not complete (the file was cut off?)")
        raw = data.split(b"\n")[:-1]
        self.lines = [r.decode("utf-8") for r in raw]
        self.offsets = np.concatenate([[0], np.cumsum([len(r) + 1 for r in raw])])
        if not self.lines or self.lines[0] != "tree":
            first = self.lines[0][:40] if self.lines else ""
            raise self.bad(f"the first line is {first!r}, expected 'tree'", 1)
        i = self.header()
        n_trees, i = self.trees(i)
        self.tail(i)
        return BoosterSummary("lightgbm-text", self.n_features, self.n_classes, n_trees)

    def integer(self, key: str, value: str, line: int, low: int = 0) -> int:
        if not WHOLE_NUMBER.fullmatch(value) or int(value) < low:
            raise self.bad(f"{key}={value[:40]!r}, expected a whole number ≥ {low}", line)
        return int(value)

    def header(self) -> int:
        head: dict[str, tuple[str, int]] = {}
        i = 1
        while i < len(self.lines) and self.lines[i]:
            text = self.lines[i]
            key, eq, value = text.partition("=")
            if not eq or (key != "feature_names" and "=" in value):
                raise self.bad(f"header line {text[:60]!r} is not key=value", i + 1)
            if key in head:
                raise self.bad(f"header key {key!r} repeated", i + 1)
            head[key] = (value, i + 1)
            i += 1
        for key in (
            "version",
            "num_class",
            "num_tree_per_iteration",
            "label_index",
            "max_feature_idx",
            "objective",
            "feature_names",
            "feature_infos",
        ):
            if key not in head:
                raise self.bad(f"the header has no {key}=")
        if head["version"][0] != "v4":
            raise self.bad(f"version={head['version'][0][:20]!r}, expected v4", head["version"][1])
        n_class = self.integer("num_class", *head["num_class"], low=1)
        per_iter = self.integer("num_tree_per_iteration", *head["num_tree_per_iteration"], low=1)
        if per_iter != n_class:
            raise self.bad(
                f"num_tree_per_iteration={per_iter} with num_class={n_class}; a classifier "
                "grows one tree per class and iteration",
                head["num_tree_per_iteration"][1],
            )
        if self.integer("label_index", *head["label_index"]) != 0:
            raise self.bad("label_index must be 0", head["label_index"][1])
        self.n_features = self.integer("max_feature_idx", *head["max_feature_idx"]) + 1
        self.per_iter = per_iter
        self.objective(*head["objective"], n_class=n_class)
        self.n_classes = 2 if n_class == 1 else n_class
        for key in ("feature_names", "feature_infos"):
            value, at = head[key]
            items = value.split(" ")
            if len(items) != self.n_features or not all(items):
                raise self.bad(
                    f"{key} lists {len([t for t in items if t])} entries, expected "
                    f"{self.n_features} (max_feature_idx + 1) separated by single spaces",
                    at,
                )
        self.tree_sizes: list[int] | None = None
        if "tree_sizes" in head:
            value, at = head["tree_sizes"]
            if not _INTS.fullmatch(value) or not value:
                raise self.bad("tree_sizes is not a list of whole numbers", at)
            self.tree_sizes = [int(t) for t in value.split(" ")]
        return i

    def objective(self, value: str, line: int, *, n_class: int) -> None:
        name, *options = value.split(" ")
        if name not in _LGB_OBJECTIVES:
            raise self.bad(
                f"objective {name[:40]!r}; this package's LightGBM classifiers use "
                f"{' or '.join(_LGB_OBJECTIVES)}",
                line,
            )
        if (name == "binary") != (n_class == 1):
            raise self.bad(f"objective {name} with num_class={n_class}", line)
        for option in options:
            key, colon, number = option.partition(":")
            if not colon or not key.isidentifier() or not _FLOAT_ONE.fullmatch(number):
                raise self.bad(f"objective option {option[:40]!r} is not name:number", line)
            if key == "num_class" and number != str(n_class):
                raise self.bad(f"objective says num_class:{number}, header {n_class}", line)

    def trees(self, i: int) -> tuple[int, int]:
        """Check the ``Tree=`` blocks from line index ``i``; (number of trees, the index
        of the ``end of trees`` line)."""
        lines = self.lines
        while i < len(lines) and not lines[i]:
            i += 1
        starts: list[int] = []
        while i < len(lines) and lines[i].startswith("Tree="):
            if lines[i] != f"Tree={len(starts)}":
                raise self.bad(f"{lines[i][:30]!r} where Tree={len(starts)} was expected", i + 1)
            starts.append(i)
            i = self.tree(i)
            while i < len(lines) and not lines[i]:
                i += 1
        if i >= len(lines) or lines[i] != "end of trees":
            found = repr(lines[i][:40]) if i < len(lines) else "the end of the file"
            raise self.bad(
                f"expected a Tree= block or 'end of trees', found {found} (cut off?)",
                i + 1,
            )
        if not starts or len(starts) % self.per_iter:
            raise self.bad(
                f"{len(starts)} trees, not a positive multiple of num_tree_per_iteration="
                f"{self.per_iter}"
            )
        if self.tree_sizes is not None:
            bounds = [int(self.offsets[s]) for s in [*starts, i]]
            sizes = [b - a for a, b in itertools.pairwise(bounds)]
            if sizes != self.tree_sizes:
                pairs = zip(sizes, self.tree_sizes, strict=False)  # lengths may differ
                which = next(
                    (k for k, (a, b) in enumerate(pairs) if a != b),
                    min(len(sizes), len(self.tree_sizes)),
                )
                raise self.bad(
                    f"tree_sizes lists {len(self.tree_sizes)} sizes that do not match the "
                    f"{len(sizes)} Tree= blocks (first difference at Tree={which})"
                )
        return len(starts), i

    def tree(self, i: int) -> int:
        """Check one block starting at its ``Tree=`` line; the index after its lines."""
        name, start = self.lines[i], i + 1
        fields: dict[str, tuple[str, int]] = {}
        i += 1
        while i < len(self.lines) and self.lines[i]:
            key, eq, value = self.lines[i].partition("=")
            if not eq or key not in _TREE_KEYS:
                raise self.bad(f"{name}: unexpected line {self.lines[i][:40]!r}", i + 1)
            if key in fields:
                raise self.bad(f"{name}: {key} repeated", i + 1)
            fields[key] = (value, i + 1)
            i += 1
        if i >= len(self.lines):
            raise self.bad(f"{name} is not closed by a blank line (cut off?)", i)
        for key in ("num_leaves", "num_cat", "leaf_value"):
            if key not in fields:
                raise self.bad(f"{name} has no {key}=", start)
        n = self.integer("num_leaves", *fields["num_leaves"], low=1)
        if n > MAX_LEAVES:
            raise self.bad(
                f"{name}: num_leaves={n}, more than LightGBM allows ({MAX_LEAVES})",
                fields["num_leaves"][1],
            )
        if self.integer("num_cat", *fields["num_cat"]) != 0:
            raise self.bad(
                f"{name}: categorical splits (num_cat > 0); this package's models have none",
                fields["num_cat"][1],
            )
        if "is_linear" in fields and self.integer("is_linear", *fields["is_linear"]) != 0:
            raise self.bad(
                f"{name}: a linear tree; this package's models have none",
                fields["is_linear"][1],
            )
        arrays: dict[str, list[int]] = {}
        for key, (value, line) in fields.items():
            extra, kind = _TREE_KEYS[key]
            if extra == 0:
                if kind is float and not _FLOAT_ONE.fullmatch(value):
                    raise self.bad(f"{name}: {key}={value[:40]!r} is not a number", line)
                continue
            arrays[key] = self.array(name, key, value, line, kind, n, extra)
        if n > 1:
            for key in ("left_child", "right_child", "split_feature", "threshold"):
                if key not in arrays:
                    raise self.bad(f"{name} has no {key}=", start)
            self.topology(name, start, n, arrays)
        return i

    def array(
        self, name: str, key: str, value: str, line: int, kind: type, n: int, extra: int
    ) -> list[int]:
        """Check one array's numbers and length; its values when they are integers."""
        pattern = _INTS if kind is int else _FLOATS
        if not pattern.fullmatch(value):
            what = "whole numbers" if kind is int else "numbers"
            raise self.bad(f"{name}: {key} is not a list of {what} separated by spaces", line)
        count = value.count(" ") + 1 if value else 0
        expected = n - 1 if extra < 0 else n
        # a one-leaf tree stores no leaf weight (LightGBM writes an empty list)
        allowed = {expected, 0} if (n == 1 and key in ("leaf_weight", "leaf_count")) else {expected}
        if count not in allowed:
            raise self.bad(
                f"{name}: {key} has {count} values, expected {expected} for num_leaves={n}",
                line,
            )
        if kind is float:
            if _BIG_EXPONENT.search(value) and not all(
                math.isfinite(float(t)) for t in value.split(" ")
            ):
                raise self.bad(f"{name}: {key} holds a number too large to be finite", line)
            return []
        return [int(t) for t in value.split(" ")] if value else []

    def topology(self, name: str, line: int, n: int, arrays: dict[str, list[int]]) -> None:
        features = arrays["split_feature"]
        if min(features) < 0 or max(features) >= self.n_features:
            raise self.bad(
                f"{name}: split_feature holds {min(features)}..{max(features)}, outside "
                f"0..{self.n_features - 1} (max_feature_idx)",
                line,
            )
        for dt in arrays.get("decision_type", []):
            if not 0 <= dt <= 15 or dt & 1 or (dt >> 2) & 3 == 3:
                raise self.bad(f"{name}: decision_type {dt} is not a numerical split", line)
        seen_internal, seen_leaf = [0] * (n - 1), [0] * n
        for child in arrays["left_child"] + arrays["right_child"]:
            if 0 < child < n - 1:
                seen_internal[child] += 1
            elif -n <= child < 0:
                seen_leaf[~child] += 1
            else:
                raise self.bad(
                    f"{name}: child index {child} is not a node below the root (num_leaves={n})",
                    line,
                )
        if any(c != 1 for c in seen_internal[1:]) or any(c != 1 for c in seen_leaf):
            raise self.bad(
                f"{name}: left_child and right_child do not form a tree (a node is "
                "reached twice or never)",
                line,
            )

    def tail(self, i: int) -> None:
        """After ``end of trees``: feature importances, parameters, pandas_categorical."""
        lines, i = self.lines, i + 1
        section = ""
        last = len(lines) - 1
        while last > i and not lines[last]:
            last -= 1
        for k in range(i, len(lines)):
            line = lines[k]
            if line == "feature_importances:" and section == "":
                section = "importances"
            elif line == "parameters:" and section in ("", "importances"):
                section = "parameters"
            elif line == "end of parameters" and section == "parameters":
                section = "done"
            elif (
                not line
                or (section == "importances" and _IMPORTANCE.fullmatch(line))
                or (section == "parameters" and _PARAM.fullmatch(line))
            ):
                continue
            elif k == last and line.startswith("pandas_categorical:"):
                self.pandas_categorical(line[len("pandas_categorical:") :], k + 1)
            else:
                raise self.bad(f"unexpected line {line[:60]!r} after the trees", k + 1)
        if section == "parameters":
            raise self.bad("'parameters:' without 'end of parameters' (cut off?)")

    def pandas_categorical(self, value: str, line: int) -> None:
        try:
            levels = json.loads(value)
        except (ValueError, RecursionError):
            raise self.bad("pandas_categorical is not valid JSON", line) from None
        if levels is None:
            return
        if not isinstance(levels, list) or not all(
            isinstance(col, list)
            and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in col)
            for col in levels
        ):
            raise self.bad("pandas_categorical must be null or a list of lists of levels", line)


def lightgbm_text_summary(data: bytes, where: str) -> BoosterSummary:
    """Check a LightGBM text model's bytes (``where`` names the file in messages)."""
    return _LightGBMText(data, where).summary()
