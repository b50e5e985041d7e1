"""Linear dependence among design columns: exact aliasing, VIFs, condition number.

These are the numbers behind :mod:`prom.models.diagnostics`; each takes a design matrix
``Z`` (rows × columns, before scaling, no intercept column) and works on its *centred*
columns, so a relation may hold up to a constant (``c = a + b + 3`` is aliasing too: the
model's intercept absorbs the constant).

Exact aliasing (:func:`aliased_columns`)
    Columns are taken in order; a column whose centred values are reproduced by a least-
    squares fit on the columns kept before it (an SVD solve, ``numpy.linalg.lstsq``) to a
    residual norm of at most :data:`ALIAS_RTOL` times its own centred norm is *aliased*:
    in the span of the earlier ones, so no coefficient of the set is identifiable. Taking
    the columns in order makes the answer deterministic and leaves out the *later* column
    of a set (a rank-revealing QR with pivoting would choose by column norm instead).
    :data:`ALIAS_RTOL` (1e-7) sits far above floating-point error (≈ 1e-15 for sums of
    recorded decimals) and far below any real variation; a relation that holds only to a
    coarser rounding shows as a huge variance inflation factor instead.
Variance inflation factors (:func:`variance_inflation_factors`)
    ``VIF_j = 1 / (1 − R²_j)``, ``R²_j`` from the regression of column ``j`` on all
    others with an intercept — the diagonal of the inverse correlation matrix (Marquardt
    1970). Convention: above :data:`VIF_HIGH` (10) a coefficient's variance is inflated
    enough to call the column collinear (Kutner, Nachtsheim, Neter & Li, *Applied Linear
    Statistical Models*, 5th ed., 2005, §10.5). Above :data:`VIF_NEAR_ALIASED` (100:
    ``R² > 0.99``, the standard error inflated more than tenfold) a column is called
    near-aliased: its coefficient says little apart from the columns it moves with.
Condition number and near dependencies (:func:`near_dependencies`)
    Singular values ``d`` of the standardised design (centred, columns scaled to unit
    length); condition indices ``d_max / d_k`` and the condition number ``d_max / d_min``.
    Belsley, Kuh & Welsch (*Regression Diagnostics*, 1980, ch. 3): a condition index above
    :data:`CONDITION_HIGH` (30) marks a near dependency, and the columns with a variance-
    decomposition proportion above :data:`VARIANCE_PROPORTION` (0.5) on it are the
    columns involved. (Belsley et al. scale without centring and keep the intercept; the
    centred form used here leaves out the ill-conditioning a column's mean alone causes.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ALIAS_RTOL",
    "VIF_HIGH",
    "VIF_NEAR_ALIASED",
    "CONDITION_HIGH",
    "VARIANCE_PROPORTION",
    "CORRELATION_HIGH",
    "AliasedColumn",
    "NearDependency",
    "aliased_columns",
    "variance_inflation_factors",
    "near_dependencies",
    "condition_number",
    "correlated_pairs",
]

#: Relative residual norm at or below which a column is an exact combination of others.
ALIAS_RTOL = 1e-7
#: VIF above which a column is called collinear (Kutner et al. 2005, §10.5).
VIF_HIGH = 10.0
#: VIF above which a column is *near-aliased*: R² > 0.99 on the others, its standard error
#: inflated more than tenfold; its coefficient is marked, not shown as an odds ratio.
VIF_NEAR_ALIASED = 100.0
#: Condition index above which a near dependency is reported (Belsley et al. 1980).
CONDITION_HIGH = 30.0
#: Variance-decomposition proportion above which a column is part of a near dependency.
VARIANCE_PROPORTION = 0.5
#: |Pearson r| at or above which two predictors are explained together.
CORRELATION_HIGH = 0.9


@dataclass(frozen=True)
class AliasedColumn:
    """A design column that is an exact linear combination of earlier ones:
    ``column = intercept + Σ coef · term`` in every row."""

    column: str
    terms: tuple[tuple[str, float], ...]
    intercept: float

    def relation(self) -> str:
        """``"c = 1.000·a + 1.000·b"`` (a constant term only when it is not 0)."""
        parts: list[str] = []
        for name, coef in self.terms:
            sign = "−" if coef < 0 else "+"
            text = f"{abs(coef):.3f}·{name}"
            parts.append(text if not parts and coef >= 0 else f"{sign} {text}")
        if abs(self.intercept) > 1e-9 * max(1.0, *(abs(c) for _, c in self.terms)):
            parts.append(f"{'−' if self.intercept < 0 else '+'} {abs(self.intercept):.4g}")
        rhs = " ".join(parts) if parts else f"{self.intercept:.4g}"
        if rhs.startswith("− "):
            rhs = "−" + rhs[2:]
        return f"{self.column} = {rhs}"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the relation, the aliased one last."""
        return (*(n for n, _ in self.terms), self.column)


@dataclass(frozen=True)
class NearDependency:
    """One condition index above :data:`CONDITION_HIGH` and the columns involved."""

    condition_index: float
    columns: tuple[str, ...]


def _centred(Z: np.ndarray) -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    return Z - Z.mean(axis=0)


def aliased_columns(
    Z: np.ndarray, names: Sequence[str], rtol: float = ALIAS_RTOL
) -> list[AliasedColumn]:
    """Every column of ``Z`` that is an exact combination of earlier, non-aliased columns
    (see the module docstring); constant columns are neither kept nor reported here."""
    from scipy.linalg import qr

    Z = np.asarray(Z, dtype=float)
    C = _centred(Z)
    means = Z.mean(axis=0)
    norms = np.linalg.norm(C, axis=0)
    if C.shape[1] == 0:
        return []
    # Householder QR without pivoting: |R[j, j]| is the norm of column j's residual after
    # projection on every earlier column, i.e. the sequential least-squares residual
    R = qr(C, mode="r", check_finite=False)[0]
    diag = (
        np.abs(np.diag(R))
        if R.shape[0] >= C.shape[1]
        else np.r_[np.abs(np.diag(R)), np.zeros(C.shape[1] - R.shape[0])]
    )
    kept: list[int] = []
    out: list[AliasedColumn] = []
    for j in range(C.shape[1]):
        norm = float(norms[j])
        if norm == 0.0:
            continue
        if kept and diag[j] <= rtol * norm:
            A = C[:, kept]
            coef, *_ = np.linalg.lstsq(A, C[:, j], rcond=None)
            if float(np.linalg.norm(C[:, j] - A @ coef)) <= rtol * norm:
                scale = np.linalg.norm(A, axis=0)
                # terms whose share of the fitted values is not rounding noise
                used = np.abs(coef) * scale > 1e-9 * norm
                terms = tuple((str(names[kept[i]]), float(coef[i])) for i in np.flatnonzero(used))
                intercept = float(
                    means[j] - sum(coef[i] * means[kept[i]] for i in range(len(kept)))
                )
                out.append(AliasedColumn(str(names[j]), terms, intercept))
                continue
        kept.append(j)
    return out


def _standardised(Z: np.ndarray) -> np.ndarray:
    """Centred columns scaled to unit length (constant columns must be removed first)."""
    C = _centred(Z)
    norm = np.linalg.norm(C, axis=0)
    if np.any(norm == 0):
        raise ValueError("a constant column has no standardised form; leave it out first")
    return C / norm


def variance_inflation_factors(Z: np.ndarray) -> np.ndarray:
    """``1 / (1 − R²_j)`` of every column of ``Z`` (regressed on all others with an
    intercept); ``inf`` for a column the others reproduce exactly."""
    S = _standardised(Z)
    p = S.shape[1]
    if p == 1:
        return np.ones(1)
    R = S.T @ S  # the correlation matrix
    d = np.linalg.svd(S, compute_uv=False)
    if d[-1] <= d[0] * ALIAS_RTOL:
        # singular: one regression per column tells which are exact (inf) and which not
        out = np.empty(p)
        for j in range(p):
            others = np.delete(S, j, axis=1)
            coef, *_ = np.linalg.lstsq(others, S[:, j], rcond=None)
            r = S[:, j] - others @ coef
            ss = float(r @ r)
            out[j] = np.inf if ss <= ALIAS_RTOL**2 else 1.0 / ss
        return out
    return np.diag(np.linalg.inv(R)).copy()


def condition_number(Z: np.ndarray) -> float:
    """``d_max / d_min`` of the standardised design (``inf`` when it is singular)."""
    d = np.linalg.svd(_standardised(Z), compute_uv=False)
    return float(d[0] / d[-1]) if d[-1] > 0 else float("inf")


def near_dependencies(
    Z: np.ndarray,
    names: Sequence[str],
    threshold: float = CONDITION_HIGH,
    proportion: float = VARIANCE_PROPORTION,
) -> list[NearDependency]:
    """Belsley–Kuh–Welsch near dependencies: every condition index above ``threshold``
    with the columns whose variance-decomposition proportion on it exceeds ``proportion``
    (two or more columns; see the module docstring)."""
    S = _standardised(Z)
    _, d, vt = np.linalg.svd(S, full_matrices=False)
    if d[-1] <= 0:
        raise ValueError("the design is singular; leave out the aliased columns first")
    phi = (vt.T**2) / d**2  # (columns, components)
    share = phi / phi.sum(axis=1, keepdims=True)
    out = []
    for k in np.argsort(d):  # smallest singular value (largest index) first
        index = float(d[0] / d[k])
        if index <= threshold:
            break
        cols = tuple(str(names[j]) for j in np.flatnonzero(share[:, k] > proportion))
        if len(cols) >= 2:
            out.append(NearDependency(index, cols))
    return out


def correlated_pairs(
    Z: np.ndarray, names: Sequence[str], threshold: float = CORRELATION_HIGH
) -> list[tuple[str, str, float]]:
    """Pairs of columns with ``|Pearson r| ≥ threshold``: ``(a, b, r)``, a before b."""
    S = _standardised(Z)
    R = S.T @ S
    p = R.shape[0]
    return [
        (str(names[i]), str(names[j]), float(R[i, j]))
        for i in range(p)
        for j in range(i + 1, p)
        if abs(R[i, j]) >= threshold
    ]
