"""The :class:`Explanation` record and its conversion to probability points.

Scales (``Explanation.output``)
-------------------------------
``"log_odds"``        log-odds of the raw (uncalibrated) binary model
``"softmax_margin"``  per-class margin ``z_k`` of a 3+ class model, ``p_k = softmax(z)_k``
``"probability"``     a raw probability (random forests, which are additive only there;
                      or probability points with ``calibrated=False``)
``"log_hazard"``      Cox log partial hazard, centred at the training means
``"calibrated_probability"``  probability points of the calibrated model
``"risk"``            Cox probability points: risk of the event by ``horizon``

Probability points
------------------
Contributions are additive on the model's own scale, not on the probability a clinician
reads. :meth:`Explanation.to_probability_points` maps them onto it so that, per row, the
points sum exactly to ``p − p0``, where ``p0 = f(base)`` and ``p = f(base + Σ contributions)``
with ``f`` the map from the explained scale to the (calibrated) probability.

* One output: every contribution is multiplied by the secant slope of ``f`` between the
  base and the prediction, ``(p − p0) / Σ contributions`` — proportional allocation of the
  probability change to each contribution's share of the total change on the model scale.
  ``f`` is monotone, so the slope is ≥ 0 and no larger than ``f``'s steepest slope; signs
  and ranking are kept. When ``Σ contributions = 0`` exactly the slope is ``f``'s
  derivative at the base (central difference).
* Several classes: ``p_k`` depends on every class margin, so each variable's points for
  class ``k`` are its margin contributions pushed through the Jacobian of ``f`` at the
  midpoint between base and prediction, ``g_ik = Σ_j ∂p_k/∂z_j · v_ij``; the small
  remainder ``(p_k − p0_k) − Σ_i g_ik`` (third order in the change) is shared out in
  proportion to ``|g_ik|`` so the points sum exactly.

``p0`` is the probability of a hypothetical patient whose model output is the base value
(the training-average output), not the average predicted probability. ``p`` equals
``model.predict_proba(X)`` up to the additivity residual times the slope of ``f``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

__all__ = ["Explanation", "RAW_SCALES", "POINT_SCALES"]

RAW_SCALES = ("log_odds", "softmax_margin", "probability", "log_hazard")
POINT_SCALES = ("calibrated_probability", "probability", "risk")
_DERIVATIVE_STEP = 1e-6


@dataclass(frozen=True, eq=False)
class Explanation:
    """Per-row additive contributions of a model's predictors.

    Attributes
    ----------
    values : DataFrame (rows × ``features``) for one output; for a 3+ class model a dict
        class label → DataFrame (use :meth:`for_class` to get a one-output view).
    base_value : float, or dict class → float — the output when every contribution is 0.
    features : tuple of str — clinical variables (``grouped``) or design columns.
    data : DataFrame — the values shown next to the contributions: the clinical input
        values (``grouped``; ``img_index_*`` derived as the model does) or the design.
    output : str — the scale of ``values`` (see the module docstring).
    family : str — ``logistic``, ``elastic_net``, ``random_forest``, ``xgboost``,
        ``lightgbm`` or ``cox``.
    additivity_residual : float — ``max |Σ values + base − model output|`` over rows (and
        classes), on the ``output`` scale; the model output is computed by the model itself.
    prediction : Series (or DataFrame rows × classes) — the model's own output per row.
    classes : tuple or None — class labels of a multiclass explanation.
    explained_class : the class whose output is explained (binary: the positive class).
    grouped : bool — design columns summed back to their clinical variable.
    method : str — ``"exact"`` (linear, Cox), ``"native"`` (booster TreeSHAP), ``"shap"``
        (``shap.TreeExplainer``), ``"approx"`` (XGBoost's Saabas path attribution).
    labels : mapping feature → plain-language name.
    horizon : float or None — Cox risk horizon of ``"risk"`` points.
    converted_from : str or None — for probability points, the scale they came from.
    model : the explained model (kept for :meth:`to_probability_points`).
    """

    values: pd.DataFrame | dict
    base_value: float | dict
    features: tuple
    data: pd.DataFrame
    output: str
    family: str
    additivity_residual: float
    prediction: pd.Series | pd.DataFrame
    classes: tuple | None = None
    explained_class: Any = None
    grouped: bool = True
    method: str = "native"
    labels: Mapping[str, str] = field(default_factory=dict)
    horizon: float | None = None
    converted_from: str | None = None
    model: Any = field(default=None, repr=False)
    # values derived once from the fields above (see :meth:`once`); never passed in
    _once: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def once(self, key: Any, make: Any) -> Any:
        """``make()``, computed at the first call with ``key`` and kept: the record is
        immutable, so a value derived from it (a ranking, a column of its data) is the
        same at every call. The calculator reads one row at a time from the same record."""
        try:
            if key in self._once:
                return self._once[key]
        except TypeError:  # a key with an unhashable part: computed each time
            return make()
        made = self._once[key] = make()
        return made

    # -- views ----------------------------------------------------------------------------
    @property
    def is_multiclass(self) -> bool:
        return self.classes is not None

    @property
    def n_rows(self) -> int:
        return len(self.data)

    def one_output(self) -> tuple[pd.DataFrame, float]:
        """``(values, base_value)`` of a one-output explanation; a multiclass one has one
        per class (take :meth:`for_class` first)."""
        values, base = self.values, self.base_value
        if isinstance(values, Mapping) or isinstance(base, Mapping):
            raise ValueError(
                "this explanation has one output per class "
                f"({', '.join(map(repr, self.classes or ()))}); take for_class(...) first"
            )
        return values, float(base)

    def by_class(self) -> tuple[tuple[Any, ...], Mapping[Any, pd.DataFrame], Mapping[Any, float]]:
        """``(classes, values, base_value)`` of a multiclass explanation, per class."""
        classes, values, base = self.classes, self.values, self.base_value
        if classes is None or not isinstance(values, Mapping) or not isinstance(base, Mapping):
            raise ValueError(
                f"this explanation has one output (class {self.explained_class!r}), not one "
                "per class"
            )
        return classes, values, base

    def for_class(self, label) -> Explanation:
        """The one-output view of class ``label`` of a multiclass explanation."""
        if not self.is_multiclass:
            if label == self.explained_class:
                return self
            raise ValueError(
                f"this explanation has one output (class {self.explained_class!r}); "
                f"there is no class {label!r} to select"
            )
        classes, values, base = self.by_class()
        if label not in classes:
            raise ValueError(
                f"class {label!r} is not one of the model's classes {', '.join(map(repr, classes))}"
            )
        return replace(
            self,
            values=values[label],
            base_value=base[label],
            prediction=self.prediction[label],
            classes=None,
            explained_class=label,
        )

    def label(self, feature: str) -> str:
        """Plain-language name of ``feature`` (the name itself when none is known)."""
        return self.labels.get(feature, feature)

    # -- probability points ----------------------------------------------------------------
    def to_probability_points(
        self, calibrated: bool = True, *, horizon: float | None = None
    ) -> Explanation:
        """Contributions as probability points summing to ``p − p0`` per row.

        ``calibrated=True`` maps through the model's calibrator (and site recalibration),
        the probability the calculator shows; ``False`` through the raw model only. Cox
        models give risk points by ``horizon`` (default: the model's). See the module
        docstring for the method.
        """
        if self.converted_from is not None:
            raise ValueError(f"this explanation is already on the {self.output!r} scale")
        if self.model is None:
            raise ValueError(
                "to_probability_points needs the model; this explanation was built without it"
            )
        if self.output == "softmax_margin" and not self.is_multiclass:
            raise ValueError(
                "a per-class view of a multiclass model cannot be converted on its own (each "
                "class probability depends on every class's margin): convert the multiclass "
                "explanation, then take for_class(...)"
            )
        f, out_scale, h = self._probability_map(calibrated, horizon)
        if self.is_multiclass:
            return self._points_multiclass(f, out_scale)
        frame, base = self.one_output()
        v = frame.to_numpy(dtype=float)
        total = v.sum(axis=1)
        p0 = float(f(np.array([base]))[0])
        p = f(base + total)
        slope = np.empty_like(total)
        moved = total != 0
        slope[moved] = (p[moved] - p0) / total[moved]
        if (~moved).any():
            d = _DERIVATIVE_STEP
            slope[~moved] = (f(np.array([base + d]))[0] - f(np.array([base - d]))[0]) / (2 * d)
        scaled = v * slope[:, None]
        points = pd.DataFrame(scaled, index=frame.index, columns=frame.columns)
        residual = float(np.max(np.abs(scaled.sum(axis=1) + p0 - p), initial=0.0))
        return replace(
            self,
            values=points,
            base_value=p0,
            prediction=pd.Series(p, index=frame.index, name=out_scale),
            output=out_scale,
            additivity_residual=residual,
            horizon=h,
            converted_from=self.output,
        )

    def _probability_map(self, calibrated: bool, horizon):
        """``f``: explained scale → probability (vectorised over rows), the points' scale."""
        model = self.model
        if self.output == "log_hazard":
            h = float(model.horizon if horizon is None else horizon)
            h0 = float(model.baseline_cumulative_hazard([h])[0])
            return (lambda z: 1.0 - np.exp(-h0 * np.exp(z))), "risk", h
        if horizon is not None:
            raise ValueError("horizon= is for Cox models; this is a classifier")
        if self.output == "log_odds":

            def raw(z):
                p1 = expit(z)
                return np.column_stack([1 - p1, p1])
        elif self.output == "softmax_margin":

            def raw(z):
                return softmax(z, axis=1)
        else:  # a forest's probability: binary P(class 1), or the class probability rows

            def raw(z):
                z = np.clip(z, 0.0, 1.0)
                return np.column_stack([1 - z, z]) if z.ndim == 1 else z

        scale = "calibrated_probability" if calibrated else "probability"
        if self.is_multiclass:
            return ((lambda z: model.calibrate(raw(z))) if calibrated else raw), scale, None
        if calibrated:
            return (lambda z: model.calibrate(raw(z))[:, 1]), scale, None
        return (lambda z: raw(z)[:, 1]), scale, None

    def _points_multiclass(self, f, out_scale) -> Explanation:
        labels, by_class, base_of = self.by_class()
        classes = list(labels)
        v = np.stack([by_class[c].to_numpy(dtype=float) for c in classes], axis=2)
        base = np.array([base_of[c] for c in classes], dtype=np.float64)
        n, _, k = v.shape
        end = base + v.sum(axis=1)  # (n, K)
        p0 = f(base[None, :])[0]
        p = f(end)
        mid = (base + end) / 2
        d = _DERIVATIVE_STEP
        jac = np.empty((n, k, k))  # ∂p_k/∂z_j at the midpoint
        for j in range(k):
            step = np.zeros(k)
            step[j] = d
            jac[:, :, j] = (f(mid + step) - f(mid - step)) / (2 * d)
        g = np.einsum("nkj,npj->npk", jac, v)
        remainder = (p - p0) - g.sum(axis=1)
        weight = np.abs(g)
        norm = weight.sum(axis=1, keepdims=True)
        weight = np.divide(weight, norm, out=np.zeros_like(weight), where=norm > 0)
        points = g + remainder[:, None, :] * weight
        index = self.data.index
        values = {
            c: pd.DataFrame(points[:, :, i], index=index, columns=list(self.features))
            for i, c in enumerate(classes)
        }
        residual = float(np.max(np.abs(points.sum(axis=1) + p0 - p), initial=0.0))
        return replace(
            self,
            values=values,
            base_value={c: float(p0[i]) for i, c in enumerate(classes)},
            prediction=pd.DataFrame(p, index=index, columns=classes),
            output=out_scale,
            additivity_residual=residual,
            converted_from=self.output,
        )
