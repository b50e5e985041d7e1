"""The structural check of an XGBoost UBJSON model (``model.ubj``), in Python.

XGBoost's loader checks much of a model's layout itself, but not that a tree's child
indices stay inside the tree or that its split features exist: such a tree crashes the
process at the first prediction. :func:`xgboost_ubj_summary` reads the file with the
bounded reader of :mod:`prom.bundle.ubjson` and refuses it unless it has the layout
XGBoost 3.0 writes for a classifier of this package:

- ``version`` and ``learner/learner_model_param`` (``num_class``, ``num_feature``, one
  target, a finite ``base_score``), an objective ``binary:logistic`` (``num_class`` 0) or
  ``multi:softprob``, feature names and types empty or one per feature;
- ``learner/gradient_booster`` a tree booster (``gbtree``, or ``dart`` around one) whose
  ``model`` has ``num_trees`` trees, a ``tree_info`` class index per tree and
  ``iteration_indptr`` splitting them into iterations of one tree per class;
- in every tree: its ``id``, ``num_nodes`` entries in each node array, children that form
  one tree, parents that match them, split features below ``num_feature``, finite split
  values and weights, and no categorical splits or vector leaves.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from prom.bundle.booster_types import WHOLE_NUMBER, BoosterSummary
from prom.bundle.manifest import BundleError
from prom.bundle.ubjson import UBJSONError, read_ubjson

__all__ = ["xgboost_ubj_summary"]

#: A number stored as text (``base_score``).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_XGB_OBJECTIVES = ("binary:logistic", "multi:softprob")
#: Tree node arrays and the dtype kind of each (i: signed, u: unsigned, f: float).
_NODE_ARRAYS = {
    "left_children": "i",
    "right_children": "i",
    "parents": "i",
    "split_indices": "i",
    "split_conditions": "f",
    "split_type": "u",
    "default_left": "u",
    "base_weights": "f",
    "loss_changes": "f",
    "sum_hessian": "f",
}
_CATEGORY_ARRAYS = ("categories", "categories_nodes", "categories_segments", "categories_sizes")
#: XGBoost's parent index of the root node.
_NO_PARENT = 2**31 - 1


class _XGB:
    def __init__(self, where: str):
        self.where = where

    def bad(self, path: str, problem: str) -> BundleError:
        return BundleError(f"{self.where}: malformed XGBoost model: {path}: {problem}; refusing it")

    def get(self, obj: Any, key: str, path: str, kind: type | tuple[type, ...]) -> Any:
        if not isinstance(obj, dict):
            raise self.bad(path, f"expected an object, found {type(obj).__name__}")
        sub = f"{path}/{key}" if path else key
        if key not in obj:
            raise self.bad(sub, "missing")
        value = obj[key]
        if not isinstance(value, kind):
            raise self.bad(sub, f"unexpected {type(value).__name__}")
        return value

    def number(self, obj: Any, key: str, path: str, low: int = 0) -> int:
        value = self.get(obj, key, path, str)
        if not WHOLE_NUMBER.fullmatch(value) or int(value) < low:
            raise self.bad(f"{path}/{key}", f"{value[:30]!r}, expected a whole number ≥ {low}")
        return int(value)

    def ints(self, obj: Any, key: str, path: str, length: int | None = None) -> np.ndarray:
        value = self.get(obj, key, path, (np.ndarray, list))
        if isinstance(value, list):
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise self.bad(f"{path}/{key}", "expected a list of whole numbers")
            value = np.asarray(value, dtype=np.int64)
        if value.dtype.kind not in "iu":
            raise self.bad(f"{path}/{key}", f"expected integers, found {value.dtype}")
        if length is not None and len(value) != length:
            raise self.bad(f"{path}/{key}", f"{len(value)} entries, expected {length}")
        return value.astype(np.int64)


def xgboost_ubj_summary(data: bytes, where: str) -> BoosterSummary:
    """Check an XGBoost UBJSON model's bytes (``where`` names the file in messages)."""
    x = _XGB(where)
    try:
        doc = read_ubjson(data, max_depth=16)
    except UBJSONError as e:
        raise BundleError(
            f"{where}: not a readable XGBoost UBJSON model ({e}); refusing it"
        ) from None
    version = x.get(doc, "version", "", list)
    if len(version) != 3 or not all(isinstance(v, int) and v >= 0 for v in version):
        raise x.bad("version", f"{version!r:.60}, expected [major, minor, patch]")
    learner = x.get(doc, "learner", "", dict)
    lp = x.get(learner, "learner_model_param", "learner", dict)
    where_lp = "learner/learner_model_param"
    num_class = x.number(lp, "num_class", where_lp)
    n_features = x.number(lp, "num_feature", where_lp, low=1)
    if x.number(lp, "num_target", where_lp, low=1) != 1:
        raise x.bad(f"{where_lp}/num_target", "a multi-target model; this package writes none")
    base = x.get(lp, "base_score", where_lp, str)
    if not _NUMBER.fullmatch(base) or not np.isfinite(float(base)):
        raise x.bad(f"{where_lp}/base_score", f"{base[:30]!r} is not a finite number")
    objective = x.get(
        x.get(learner, "objective", "learner", dict), "name", "learner/objective", str
    )
    if objective not in _XGB_OBJECTIVES:
        raise x.bad(
            "learner/objective/name",
            f"{objective[:40]!r}; this package's XGBoost classifiers use "
            f"{' or '.join(_XGB_OBJECTIVES)}",
        )
    if (objective == "binary:logistic") != (num_class == 0):
        raise x.bad(f"{where_lp}/num_class", f"{num_class} with objective {objective}")
    for key in ("feature_names", "feature_types"):
        names = x.get(learner, key, "learner", list)
        if names and len(names) != n_features:
            raise x.bad(f"learner/{key}", f"{len(names)} entries, expected {n_features}")
    gb = x.get(learner, "gradient_booster", "learner", dict)
    path = "learner/gradient_booster"
    kind = x.get(gb, "name", path, str)
    if kind == "dart":
        gb, path = x.get(gb, "gbtree", path, dict), f"{path}/gbtree"
    elif kind != "gbtree":
        raise x.bad(f"{path}/name", f"{kind[:30]!r}; this package writes tree boosters only")
    model = x.get(gb, "model", path, dict)
    path += "/model"
    param = x.get(model, "gbtree_model_param", path, dict)
    n_trees = x.number(param, "num_trees", f"{path}/gbtree_model_param", low=1)
    parallel = x.number(param, "num_parallel_tree", f"{path}/gbtree_model_param", low=1)
    trees = x.get(model, "trees", path, list)
    if len(trees) != n_trees:
        raise x.bad(f"{path}/trees", f"{len(trees)} trees, num_trees says {n_trees}")
    groups = max(num_class, 1)
    info = x.ints(model, "tree_info", path, n_trees)
    if info.min() < 0 or info.max() >= groups:
        raise x.bad(f"{path}/tree_info", f"class index outside 0..{groups - 1}")
    indptr = x.ints(model, "iteration_indptr", path)
    step = groups * parallel
    if (
        len(indptr) < 2
        or indptr[0] != 0
        or indptr[-1] != n_trees
        or (np.diff(indptr) != step).any()
    ):
        raise x.bad(
            f"{path}/iteration_indptr",
            f"does not split {n_trees} trees into iterations of {step}",
        )
    for k, tree in enumerate(trees):
        _check_xgb_tree(x, tree, k, f"{path}/trees[{k}]", n_features)
    n_classes = 2 if objective == "binary:logistic" else num_class
    return BoosterSummary("xgboost-ubj", n_features, n_classes, n_trees)


def _check_xgb_tree(x: _XGB, tree: Any, k: int, path: str, n_features: int) -> None:
    if x.get(tree, "id", path, int) != k:
        raise x.bad(f"{path}/id", f"{tree['id']}, expected {k}")
    param = x.get(tree, "tree_param", path, dict)
    n = x.number(param, "num_nodes", f"{path}/tree_param", low=1)
    if x.number(param, "num_feature", f"{path}/tree_param") != n_features:
        raise x.bad(f"{path}/tree_param/num_feature", f"differs from the model's {n_features}")
    if x.number(param, "num_deleted", f"{path}/tree_param") != 0:
        raise x.bad(f"{path}/tree_param/num_deleted", "a tree with deleted nodes")
    if x.number(param, "size_leaf_vector", f"{path}/tree_param") > 1:
        raise x.bad(
            f"{path}/tree_param/size_leaf_vector", "vector leaves; this package writes none"
        )
    arrays: dict[str, np.ndarray] = {}
    for key, kind in _NODE_ARRAYS.items():
        a = x.get(tree, key, path, np.ndarray)
        if a.dtype.kind != kind and not (kind == "i" and a.dtype.kind == "u"):
            raise x.bad(f"{path}/{key}", f"unexpected element type {a.dtype}")
        if len(a) != n:
            raise x.bad(f"{path}/{key}", f"{len(a)} entries, expected num_nodes={n}")
        arrays[key] = a
    for key in _CATEGORY_ARRAYS:
        if len(x.get(tree, key, path, (np.ndarray, list))):
            raise x.bad(f"{path}/{key}", "categorical splits; this package's models have none")
    for key in ("split_conditions", "base_weights"):
        if not np.isfinite(arrays[key]).all():
            raise x.bad(f"{path}/{key}", "holds a value that is not a finite number")
    if (arrays["split_type"] != 0).any():
        raise x.bad(f"{path}/split_type", "categorical splits; this package's models have none")
    if (arrays["default_left"] > 1).any():
        raise x.bad(f"{path}/default_left", "values other than 0 and 1")
    left = arrays["left_children"].astype(np.int64)
    right = arrays["right_children"].astype(np.int64)
    leaf = left == -1
    if (leaf != (right == -1)).any():
        raise x.bad(path, "a node with one child")
    children = np.concatenate([left[~leaf], right[~leaf]])
    if ((children < 1) | (children >= n)).any():
        raise x.bad(path, f"a child index outside 1..{n - 1}")
    if len(children) != n - 1 or len(np.unique(children)) != n - 1:
        raise x.bad(path, "the child indices do not form a tree (a node reached twice or never)")
    parents = arrays["parents"].astype(np.int64) & _NO_PARENT
    internal = np.flatnonzero(~leaf)
    if (
        parents[0] != _NO_PARENT
        or ((parents[left[~leaf]] != internal) | (parents[right[~leaf]] != internal)).any()
    ):
        raise x.bad(f"{path}/parents", "do not match the child indices")
    features = arrays["split_indices"][~leaf].astype(np.int64)
    if len(features) and (features.min() < 0 or features.max() >= n_features):
        raise x.bad(f"{path}/split_indices", f"a feature index outside 0..{n_features - 1}")
