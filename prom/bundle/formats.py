"""Safe on-disk formats for fitted estimators: what a bundle may hold, and nothing else.

==================  ================  ==================================================
format              file              read by
==================  ================  ==================================================
``linear-json``     ``model.json``    coefficients as JSON, rebuilt into scikit-learn's
                                      ``LogisticRegression`` (logistic, elastic net)
``xgboost-ubj``     ``model.ubj``     XGBoost's own UBJSON booster format
``lightgbm-text``   ``model.txt``     LightGBM's own text model format
``skops``           ``model.skops``   skops, after every type named anywhere in the file's
                                      schema is checked against :data:`SKOPS_TRUSTED_TYPES`
``cox-json``        ``model.json``    the whole Cox model as JSON (``PromCoxModel``)
==================  ================  ==================================================

Nothing is ever unpickled, and no booster file reaches a native loader in this process
before :mod:`prom.bundle.booster_guard` has checked it and test-loaded it in a child
process.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from prom.bundle.booster_guard import read_booster
from prom.bundle.manifest import BundleError
from prom.jsonable import to_jsonable

__all__ = [
    "SKOPS_TRUSTED_TYPES",
    "MODEL_FILES",
    "LightGBMBoosterClassifier",
    "XGBoostBoosterClassifier",
    "family_format",
    "skops_types",
    "reproducible_skops",
    "save_estimator",
    "load_estimator",
]

#: The only types a skops file in a bundle may contain — every node of its schema, not
#: only those skops itself would flag. Anything else is refused before loading.
SKOPS_TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "numpy.dtype",
    "numpy.ndarray",
    "numpy.float64",
    "numpy.int64",
    "builtins.dict",
    "builtins.list",
    "builtins.str",
    "builtins.tuple",
    "builtins.int",
    "builtins.float",
    "builtins.bool",
    "builtins.NoneType",
)


def skops_types(path: Path) -> set[str]:
    """Every ``module.class`` named anywhere in a skops file's schema (read as JSON)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise BundleError(f"{path.name}: not a readable skops file ({e})") from None
    found: set[str] = set()
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "__class__" in node and "__module__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


class LightGBMBoosterClassifier:
    """``predict_proba`` over a LightGBM ``Booster`` read from its text model file.

    Gives the same numbers as the ``LGBMClassifier`` it was saved from (which also calls
    ``Booster.predict``); ``booster`` is exposed for SHAP and native contributions.
    """

    def __init__(self, booster, n_classes: int):
        self.booster = booster
        self.n_classes = n_classes

    def predict_proba(self, X) -> np.ndarray:
        p = np.asarray(self.booster.predict(np.asarray(X, dtype=float)), dtype=float)
        if self.n_classes == 2:
            return np.column_stack([1.0 - p, p])
        return p

    @property
    def booster_(self):
        return self.booster


class XGBoostBoosterClassifier:
    """``predict_proba`` over an XGBoost ``Booster`` read from its UBJSON model file."""

    def __init__(self, booster, n_classes: int):
        self.booster = booster
        self.n_classes = n_classes

    def get_booster(self):
        return self.booster

    def predict_proba(self, X) -> np.ndarray:
        """As ``XGBClassifier.predict_proba``, bit for bit: the booster's float32
        probabilities, and for two classes ``1 - p`` taken in float32 as xgboost does."""
        p = np.asarray(self.booster.inplace_predict(np.asarray(X, dtype=float)))
        if self.n_classes == 2:
            p = np.column_stack([1 - p, p])
        return p.astype(float)


def family_format(family: str) -> str:
    return {
        "logistic": "linear-json",
        "elastic_net": "linear-json",
        "xgboost": "xgboost-ubj",
        "lightgbm": "lightgbm-text",
        "random_forest": "skops",
        "cox": "cox-json",
        "cox_ridge": "cox-json",
    }.get(family, "")


#: The file a model of each format is stored in.
MODEL_FILES = {
    "linear-json": "model.json",
    "xgboost-ubj": "model.ubj",
    "lightgbm-text": "model.txt",
    "skops": "model.skops",
    "cox-json": "model.json",
}


def reproducible_skops(data: bytes) -> bytes:
    """A skops file rewritten so that the same model always gives the same bytes.

    skops names every stored object by its Python ``id()`` (``"__id__"``, and the ``.npy``
    file of an array) and stamps each zip member with the current time, so two dumps of
    the same forest differ. Here every id is renumbered 1, 2, … in the order the schema
    lists them (consistently: an object stored once and referenced again keeps one
    number; the numbering starts at 1 because skops skips memoising an id of 0) and every
    member gets the zip epoch as its time. The file loads as the original did: same
    types, same arrays, same predictions.
    """
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    ids: dict[int, int] = {}

    def number(old: int) -> int:
        return ids.setdefault(old, len(ids) + 1)

    def renumber(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("__id__"), int):
                node["__id__"] = number(node["__id__"])
            file = node.get("file")
            if isinstance(file, str) and file.endswith(".npy") and file[:-4].isdigit():
                node["file"] = f"{number(int(file[:-4]))}.npy"
            for value in node.values():
                renumber(value)
        elif isinstance(node, list):
            for value in node:
                renumber(value)

    schema = json.loads(next(b for i, b in members if i.filename == "schema.json"))
    renumber(schema)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info, payload in members:
            name = info.filename
            if name == "schema.json":
                payload = json.dumps(schema, indent=2).encode()
            elif name.endswith(".npy") and name[:-4].isdigit():
                name = f"{number(int(name[:-4]))}.npy"
            fixed = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            z.writestr(fixed, payload)
    return out.getvalue()


def save_estimator(est, family: str, folder: Path) -> str:
    fmt = family_format(family)
    if not fmt:
        raise BundleError(f"no safe on-disk format for model family {family!r}")
    path = folder / MODEL_FILES[fmt]
    if fmt == "linear-json":
        state = {
            "class": "sklearn.linear_model.LogisticRegression",
            "params": to_jsonable(est.get_params()),
            "coef": est.coef_.tolist(),
            "intercept": est.intercept_.tolist(),
            "classes": est.classes_.tolist(),
            "n_features_in": int(est.n_features_in_),
            "n_iter": np.asarray(est.n_iter_).tolist(),
        }
        path.write_text(json.dumps(state, allow_nan=True))
    elif fmt == "xgboost-ubj":
        # the booster itself: XGBClassifier.save_model needs scikit-learn's retired
        # _estimator_type, and the booster is all prediction and SHAP need
        booster = est.get_booster() if hasattr(est, "get_booster") else est.booster
        booster.save_model(str(path))
    elif fmt == "lightgbm-text":
        booster = est.booster_ if hasattr(est, "booster_") else est.booster
        booster.save_model(str(path))
    else:
        import skops.io as sio

        path.write_bytes(reproducible_skops(sio.dumps(est)))
    return path.name


def load_estimator(fmt: str, path: Path, n_classes: int, *, n_features: int | None = None):
    """The estimator stored in ``path`` in format ``fmt``; :class:`BundleError` if refused.

    A booster file (``xgboost-ubj``, ``lightgbm-text``) is read once and passes
    :func:`prom.bundle.booster_guard.read_booster` first — its structure, its classes
    against ``n_classes`` (and its input columns against ``n_features``, the number of
    design columns of the model's preprocessor, when given), and a load in a child
    process — so a malformed file is refused instead of crashing this process; the
    native loader then reads the bytes that were checked.
    """
    if fmt == "linear-json":
        from sklearn.linear_model import LogisticRegression

        state = json.loads(path.read_text(encoding="utf-8"))
        if state.get("class") != "sklearn.linear_model.LogisticRegression":
            raise BundleError(f"{path}: not a logistic model description")
        est = LogisticRegression(**state["params"])
        est.coef_ = np.asarray(state["coef"], dtype=float)
        est.intercept_ = np.asarray(state["intercept"], dtype=float)
        est.classes_ = np.asarray(state["classes"])
        est.n_features_in_ = int(state["n_features_in"])
        est.n_iter_ = np.asarray(state["n_iter"], dtype=np.int32)
        return est
    if fmt == "xgboost-ubj":
        import xgboost as xgb

        data = read_booster(fmt, path, n_classes=n_classes, n_features=n_features)
        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        return XGBoostBoosterClassifier(booster, n_classes)
    if fmt == "lightgbm-text":
        import lightgbm as lgb

        data = read_booster(fmt, path, n_classes=n_classes, n_features=n_features)
        return LightGBMBoosterClassifier(lgb.Booster(model_str=data.decode("utf-8")), n_classes)
    if fmt == "skops":
        import skops.io as sio

        foreign = sorted(skops_types(path) - set(SKOPS_TRUSTED_TYPES))
        if foreign:
            raise BundleError(
                f"{path.name}: contains type(s) outside the bundle's trusted list: "
                f"{', '.join(foreign)}; refusing to load it"
            )
        found = sio.get_untrusted_types(file=str(path))
        return sio.load(str(path), trusted=[t for t in found if t in SKOPS_TRUSTED_TYPES])
    raise BundleError(f"{path.name}: unknown model format {fmt!r}")
