"""Item-level machinery of the cohort simulator (see :mod:`prom.cohort.simulate`).

The simulator decides *scores* (and, for follow-ups, which side of an MCID threshold a
patient lands on) and this module turns them into the *item answers* a registry export
holds, exactly: scoring the items with :mod:`prom.instruments` gives back the score that
was decided. It also draws the baseline answers from the latent severity. Everything is
vectorised over patients.

Discrete units
--------------
Follow-up scores are chosen on the grid the items can actually reach:

- ODI: the item sum ``s`` over the ``k`` answered sections (score ``100 s / (5 k)``);
- NRS: the integer rating;
- COMI: ``U = 2 (function + wellbeing + qol) + social + work`` (0–32) for a given pain
  rating, so that ``COMI = (pain + 1.25 U) / 5``;
- mJOA: the sum 0–18.

A response threshold is turned into the largest (lower-is-better) grid value that still
counts as a response. The true thresholds are rationals with small denominators, so the
distance from a grid point is either 0 or ≥ 0.01 grid units; flooring with a margin of
1e-6 therefore reproduces the inclusive, tolerance-1e-9 comparison of
:mod:`prom.instruments.mcid` exactly.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

__all__ = [
    "lumbar_baseline",
    "cervical_baseline",
    "lumbar_follow_up",
    "cervical_follow_up",
    "allocate",
    "spread",
    "place_lower_better",
    "odi_sum_threshold",
    "nrs_threshold",
    "tfesi_threshold",
    "comi_units_threshold",
    "odi_items_from_sum",
    "comi_items_from_units",
    "mjoa_items_from_score",
    "comi_score",
]

_EPS = 1e-6  # grid margin; see the module docstring
ODI_ITEMS = 10
COMI_LIKERT = 5  # function, wellbeing, qol, social, work
MJOA_CAPS = np.array([5, 7, 3, 3])


# --- allocating a total over items with caps ----------------------------------------------


def allocate(
    total: np.ndarray, weights: np.ndarray, caps: np.ndarray, key: np.ndarray
) -> np.ndarray:
    """Split integer ``total[i]`` over the items of row ``i`` in proportion to ``weights``.

    ``caps`` (n, m) is each item's largest value (0 for an unanswered item), ``key`` (n, m)
    uniform random tie-breakers. Returns int64 (n, m) with row sums equal to ``total`` and
    ``0 <= x <= caps``. Requires ``0 <= total <= caps.sum(1)``.

    Water-filling: proportional floor shares among items with room, repeated while a cap
    binds; then the remaining units (fewer than m) go one each to the items with room of
    highest priority ``weight × (0.5 + key)``, and any still left one at a time.
    """
    total = np.asarray(total, dtype=np.int64)
    caps = np.asarray(caps, dtype=np.int64)
    w = np.where(caps > 0, np.maximum(weights, 1e-9), 0.0)
    # first round on whole arrays (no row indexing: this is the hot path)
    wsum = w.sum(1, keepdims=True)
    share = total[:, None] * (w / np.where(wsum > 0, wsum, 1.0))
    fl = np.floor(share).astype(np.int64)
    x = np.minimum(fl, caps)
    rem = total - x.sum(1)
    rows = np.flatnonzero((fl > caps).any(1) & (rem > 0))  # a cap bound: share the surplus
    for _ in range(caps.shape[1] - 1):
        if rows.size == 0:
            break
        room = caps[rows] - x[rows]
        wa = np.where(room > 0, w[rows], 0.0)
        share = rem[rows, None] * wa / wa.sum(1, keepdims=True)
        fl = np.floor(share).astype(np.int64)
        add = np.minimum(fl, room)
        x[rows] += add
        rem[rows] -= add.sum(1)
        rows = rows[(fl > room).any(1) & (rem[rows] > 0)]
    prio0 = w * (0.5 + key)
    extra = np.zeros(caps.shape, dtype=np.float64)
    rows = np.flatnonzero(rem > 0)
    if rows.size:  # usually fewer units than items with room: one each to the top ones
        room = caps[rows] - x[rows]
        pr = np.where(room > 0, prio0[rows], -np.inf)
        rank = np.empty_like(room)
        np.put_along_axis(
            rank, np.argsort(-pr, axis=1, kind="stable"), np.arange(caps.shape[1])[None, :], axis=1
        )
        give = (rank < rem[rows, None]) & (room > 0)
        x[rows] += give
        extra[rows] += give
        rem[rows] -= give.sum(1)
        rows = rows[rem[rows] > 0]
    while rows.size:  # the rest (rare): one unit at a time
        room = caps[rows] - x[rows]
        pr = np.where(room > 0, prio0[rows] - extra[rows], -np.inf)
        j = pr.argmax(1)
        x[rows, j] += 1
        extra[rows, j] += 1.0
        rem[rows] -= 1
        rows = rows[rem[rows] > 0]
    return x


# --- thresholds on the reachable grid ----------------------------------------------------


def odi_sum_threshold(b: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Largest ODI item sum over ``k`` sections that is an Ostelo response from ``b``.

    Response: ``b − f ≥ 10`` or ``(b − f)/b ≥ 0.30``, i.e. ``f ≤ b − min(10, 0.3 b)``.
    """
    with np.errstate(invalid="ignore"):
        x = k * (b - np.minimum(10.0, 0.3 * b)) / 20.0
    return np.floor(x + _EPS)


def nrs_threshold(b: np.ndarray) -> np.ndarray:
    """Largest 0–10 rating that is an Ostelo response from ``b`` (2 points or 30%)."""
    return np.floor(b - np.minimum(2.0, 0.3 * b) + _EPS)


def tfesi_threshold(b: np.ndarray) -> np.ndarray:
    """Largest 0–10 leg rating that is a ≥ 50% reduction from ``b``."""
    return np.floor(0.5 * b + _EPS)


def comi_units_threshold(b: np.ndarray, pain: np.ndarray) -> np.ndarray:
    """Largest ``U`` with ``b − (pain + 1.25 U)/5 ≥ 2.2`` (negative: none exists)."""
    return np.floor((5.0 * (b - 2.2) - pain) / 1.25 + _EPS)


def spread(excess, down, up) -> np.ndarray:
    """Two-piece scaling of the copula excess: ``down`` on the response side (< 0).

    Monotone with ``spread(0) == 0``, so the sign — the label — is kept, while responders
    spread widely towards the floor and non-responders stay nearer to no change.
    """
    return np.where(excess < 0, down * excess, up * excess)


def place_lower_better(nat, thr, label, constrained, lo, hi) -> np.ndarray:
    """Round a natural value onto the grid, on the side of ``thr`` its label demands.

    Grid values ``≤ thr`` are responses. Rows not ``constrained`` are only rounded and
    clipped to ``[lo, hi]``; constrained rows with ``label == 1`` are capped at ``thr``
    and those with ``label == 0`` raised to ``thr + 1``. With ``nat = thr + 0.5 +
    spread(excess)`` the rounding alone lands on the label's side except at exact ties;
    the clamp makes it exact.
    """
    v = np.clip(np.rint(nat), lo, hi)
    resp = constrained & (label == 1)
    non = constrained & (label == 0)
    v = np.where(resp, np.minimum(v, thr), v)
    v = np.where(non, np.maximum(v, thr + 1), v)
    return v


# --- writing items for a decided score ----------------------------------------------------


def odi_items_from_sum(s, answered, profile, key) -> np.ndarray:
    """ODI section answers (float, NaN where unanswered) summing to ``s`` over ``answered``.

    ``profile`` (n, 10) are positive weights (the patient's baseline pattern), so a patient
    whose lifting was the worst section tends to keep it so.
    """
    caps = np.where(answered, 5, 0)
    x = allocate(s.astype(np.int64), profile, caps, key).astype(float)
    x[~answered] = np.nan
    return x


def comi_items_from_units(U, share, profile, key) -> np.ndarray:
    """COMI five-point items (function, wellbeing, qol, social, work) for a given ``U``.

    ``U = 2 (function + wellbeing + qol) + social + work``. The disability pair gets about
    ``share × U`` units (with the parity of ``U``), the other three the rest, each group
    split by :func:`allocate` along ``profile`` (n, 5).
    """
    U = U.astype(np.int64)
    lo = np.maximum(0, U - 24)
    hi = np.minimum(8, U)
    d = np.rint(U * share).astype(np.int64)
    d = np.clip(d, lo, hi)
    d = np.where((d - U) % 2 != 0, np.where(d + 1 <= hi, d + 1, d - 1), d)
    three = (U - d) // 2
    n = U.shape[0]
    first = allocate(three, profile[:, :3], np.full((n, 3), 4), key[:, :3])
    second = allocate(d, profile[:, 3:], np.full((n, 2), 4), key[:, 3:])
    return np.concatenate([first, second], axis=1).astype(float)


def mjoa_items_from_score(score, profile, key) -> np.ndarray:
    """mJOA items (motor upper, motor lower, sensory upper, sphincter) summing to ``score``.

    The deficit ``18 − score`` is spread over the items along ``profile`` (n, 4), the
    patient's baseline deficit pattern.
    """
    n = score.shape[0]
    caps = np.broadcast_to(MJOA_CAPS, (n, 4))
    deficit = allocate((18 - score).astype(np.int64), profile, caps, key)
    return (caps - deficit).astype(float)


def comi_score(back, leg, items) -> np.ndarray:
    """COMI from the NRS ratings and the five-point items (NaN if anything is missing)."""
    pain = np.maximum(back, leg)  # NaN propagates
    return (
        pain + 2.5 * (items[:, 0] + items[:, 1] + items[:, 2]) + 1.25 * (items[:, 3] + items[:, 4])
    ) / 5.0


# --- baseline answers from the latent severity -------------------------------------------


def lumbar_baseline(rng, P, idx) -> SimpleNamespace:
    """Complete baseline items of lumbar patients from latent severity."""
    n = idx.size
    S, dx, age = P.severity[idx], P.dx[idx], P.age[idx]
    z = rng.standard_normal
    a = np.array([2.4, 1.1, 2.6, 1.8, 2.0, 2.3, 1.5, 1.8, 2.0, 1.9])
    u = a + 0.8 * S[:, None] + 0.7 * z((n, 10))
    u[:, 3] += 0.7 * (dx == 1)  # walking, stenosis
    u[:, 5] += 0.5 * (dx == 1)  # standing, stenosis
    u[:, 4] += 0.4 * (dx == 0) + 0.3 * (dx == 3)  # sitting
    u[:, 2] += 0.3 * (dx == 3)  # lifting, DDD
    u[:, 7] += 0.01 * (age - 45.0)  # sex life
    L = SimpleNamespace()
    L.odi0 = np.clip(np.rint(u), 0, 5)
    L.back0 = np.clip(
        np.rint(4.9 + 1.15 * S + np.array([-0.4, 0.2, 0.6, 1.3])[dx] + 1.4 * z(n)), 0, 10
    )
    L.leg0 = np.clip(
        np.rint(4.6 + 1.15 * S + np.array([1.8, 1.0, 0.3, -1.8])[dx] + 1.5 * z(n)), 0, 10
    )
    emp = P.employment[idx]
    ac = np.array([2.6, 3.2, 2.3, 2.0, 2.3])
    bc = np.array([0.65, 0.5, 0.6, 0.75, 0.8])
    uc = ac + bc * S[:, None] + 0.65 * z((n, 5))
    uc[:, 4] += 1.0 * (emp == 2) - 0.4 * (emp >= 3)
    L.comi0 = np.clip(np.rint(uc), 0, 4)
    return L


def cervical_baseline(rng, P, idx) -> SimpleNamespace:
    """Complete baseline mJOA items of cervical patients: a deficit spread over items."""
    n = idx.size
    deficit = np.clip(np.rint(4.5 + 2.9 * P.severity[idx]), 0, 18)
    w = np.array([1.0, 1.5, 0.9, 0.6]) * np.exp(0.4 * rng.standard_normal((n, 4)))
    caps = np.broadcast_to(MJOA_CAPS, (n, 4))
    d = allocate(deficit.astype(np.int64), w, caps, rng.random((n, 4)))
    return SimpleNamespace(mjoa0=(caps - d).astype(float))


# --- follow-up answers consistent with the drawn labels -------------------------------------

#: share of the baseline→12-month change reached at 1 and 3 months, by initial treatment
LUMBAR_TRAJECTORY = {"1m": np.array([0.35, 0.60, 0.85]), "3m": np.array([0.70, 0.80, 0.95])}
CERVICAL_TRAJECTORY = {"1m": np.array([0.30, 0.0, 0.50]), "3m": np.array([0.60, 0.0, 0.80])}
_EARLY = ("1m", "3m")


def _early_noise(rng, n: int) -> dict[str, np.ndarray]:
    """Standard-normal deviations at 1 and 3 months, correlated 0.5 within a patient."""
    e1 = rng.standard_normal(n)
    return {"1m": e1, "3m": 0.5 * e1 + np.sqrt(0.75) * rng.standard_normal(n)}


def lumbar_follow_up(rng, x, ans, labels, excess) -> dict:
    """Follow-up ODI, NRS and COMI items of lumbar patients.

    ``x`` holds complete baseline items (``odi0`` (n, 10), ``back0``, ``leg0``, ``comi0``
    (n, 5)) and ``treatment`` codes; ``ans[tp]`` the answered masks (``odi`` (n, 10),
    ``back``, ``leg``, ``comi`` (n, 5)) at every time point; ``labels``/``excess`` the
    copula draws of :func:`prom.cohort._sim_outcomes.copula_labels`.

    Returns ``{"items": {(instrument, tp): array}, "odi_change": ..., "comi_from_items": ...}``
    with complete answers (masking for missingness is the caller's job, except that ODI
    answers exist only for the sections ``ans`` marks answered: the follow-up ODI is chosen
    over those sections).
    """
    n = len(x.back0)
    tr = x.treatment
    items: dict = {}
    # ---- ODI
    prof_odi = (x.odi0 + 0.5) * np.exp(0.25 * rng.standard_normal((n, ODI_ITEMS)))
    key_odi = rng.random((n, ODI_ITEMS))
    b_c = 2.0 * x.odi0.sum(1)
    k0 = ans["0m"]["odi"].sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        b_o = np.where(
            k0 >= ODI_ITEMS - 1,
            100.0 * np.where(ans["0m"]["odi"], x.odi0, 0).sum(1) / (5.0 * k0),
            np.nan,
        )
    b = np.where(np.isnan(b_o), b_c, b_o)
    k12 = ans["12m"]["odi"].sum(1)
    thr = odi_sum_threshold(b, k12)
    nat = thr + 0.5 + (k12 / 20.0) * spread(excess["mcid_odi_12m"], 0.5 * b, 8.0 + 0.1 * b)
    constrained = (b_o > 0) & (k12 >= ODI_ITEMS - 1)
    s12 = place_lower_better(nat, thr, labels["mcid_odi_12m"], constrained, 0, 5 * k12)
    items[("odi", "12m")] = odi_items_from_sum(s12, ans["12m"]["odi"], prof_odi, key_odi)
    with np.errstate(invalid="ignore", divide="ignore"):
        f12 = np.where(k12 > 0, 20.0 * s12 / k12, b_c)
    noise = _early_noise(rng, n)
    for tp in _EARLY:
        k = ans[tp]["odi"].sum(1)
        f = b_c + LUMBAR_TRAJECTORY[tp][tr] * (f12 - b_c) + 6.0 * noise[tp]
        s = np.clip(np.rint(f * k / 20.0), 0, 5 * k)
        items[("odi", tp)] = odi_items_from_sum(s, ans[tp]["odi"], prof_odi, key_odi)
    # ---- NRS back and leg at 12 months
    nrs12, lo12 = {}, {}
    for name, base, task in (
        ("back", x.back0, "mcid_nrs_back_12m"),
        ("leg", x.leg0, "mcid_nrs_leg_12m"),
    ):
        thr = nrs_threshold(base)
        cons = ans["0m"][name] & (base > 0)
        nat = thr + 0.5 + spread(excess[task], 0.55 * base, 1.0 + 0.1 * base)
        nrs12[name] = place_lower_better(nat, thr, labels[task], cons, 0, 10)
        lo12[name] = np.where(cons & (labels[task] == 0), thr + 1, 0)
    # ---- COMI at 12 months (its pain domain is max(NRS back, NRS leg))
    c_c = comi_score(x.back0, x.leg0, x.comi0)
    c_o = comi_score(
        np.where(ans["0m"]["back"], x.back0, np.nan),
        np.where(ans["0m"]["leg"], x.leg0, np.nan),
        np.where(ans["0m"]["comi"], x.comi0, np.nan),
    )
    cb = np.where(np.isnan(c_o), c_c, c_o)
    cons = c_o >= 2.2 - 1e-9
    resp = cons & (labels["mcid_comi_12m"] == 1)
    u_thr = comi_units_threshold(cb, np.maximum(nrs12["back"], nrs12["leg"]))
    fix = resp & (u_thr < 0)
    if fix.any():  # lower the pain ratings within their own label-consistent ranges
        allowed = np.floor(5.0 * (cb - 2.2) + _EPS)
        nb = np.maximum(lo12["back"], np.minimum(nrs12["back"], allowed))
        nl = np.maximum(lo12["leg"], np.minimum(nrs12["leg"], allowed))
        ok = fix & (np.maximum(nb, nl) <= allowed)
        nrs12["back"] = np.where(ok, nb, nrs12["back"])
        nrs12["leg"] = np.where(ok, nl, nrs12["leg"])
    pain12 = np.maximum(nrs12["back"], nrs12["leg"])
    u_thr = comi_units_threshold(cb, pain12)
    from_items = resp & (u_thr < 0)
    nat = u_thr + 0.5 + 4.0 * spread(excess["mcid_comi_12m"], 0.45 * cb, 0.5 + 0.1 * cb)
    u12 = place_lower_better(nat, u_thr, labels["mcid_comi_12m"], cons & ~from_items, 0, 32)
    share = (x.comi0[:, 3] + x.comi0[:, 4] + 0.5) / (
        2.0 * x.comi0[:, :3].sum(1) + x.comi0[:, 3:].sum(1) + 2.5
    )
    prof_comi = (x.comi0 + 0.5) * np.exp(0.25 * rng.standard_normal((n, COMI_LIKERT)))
    key_comi = rng.random((n, COMI_LIKERT))
    items[("comi", "12m")] = comi_items_from_units(u12, share, prof_comi, key_comi)
    items[("nrs_back", "12m")] = nrs12["back"]
    items[("nrs_leg", "12m")] = nrs12["leg"]
    c12 = (pain12 + 1.25 * u12) / 5.0
    # ---- NRS and COMI at 1 and 3 months
    tf = tr == 1
    thr = tfesi_threshold(x.leg0)
    nat = thr + 0.5 + spread(excess["tfesi_response"], 0.45 * x.leg0, 0.8 + 0.1 * x.leg0)
    leg1_tfesi = place_lower_better(
        nat, thr, labels["tfesi_response"], ans["0m"]["leg"] & (x.leg0 > 0), 0, 10
    )
    n_back, n_leg, n_comi = _early_noise(rng, n), _early_noise(rng, n), _early_noise(rng, n)
    for tp in _EARLY:
        w = LUMBAR_TRAJECTORY[tp][tr]
        back = np.clip(np.rint(x.back0 + w * (nrs12["back"] - x.back0) + 1.1 * n_back[tp]), 0, 10)
        leg = np.clip(np.rint(x.leg0 + w * (nrs12["leg"] - x.leg0) + 1.1 * n_leg[tp]), 0, 10)
        if tp == "1m":
            leg = np.where(tf, leg1_tfesi, leg)
        else:
            leg3_tf = np.clip(np.rint(0.5 * (leg1_tfesi + nrs12["leg"]) + 1.1 * n_leg[tp]), 0, 10)
            leg = np.where(tf, leg3_tf, leg)
        c = c_c + w * (c12 - c_c) + 0.8 * n_comi[tp]
        u = np.clip(np.rint((5.0 * c - np.maximum(back, leg)) / 1.25), 0, 32)
        items[("nrs_back", tp)] = back
        items[("nrs_leg", tp)] = leg
        items[("comi", tp)] = comi_items_from_units(u, share, prof_comi, key_comi)
    return {"items": items, "odi_change": b_c - f12, "comi_from_items": from_items}


def cervical_follow_up(rng, x, ans, label, excess) -> dict:
    """Follow-up mJOA items of cervical patients, consistent with the mJOA MCID label.

    The deficit ``18 − mJOA`` is lower-is-better, so the same placement as the lumbar
    instruments applies: a response (≥ 2 points) is a deficit ≤ ``16 − baseline``.
    """
    n = len(x.treatment)
    caps = np.broadcast_to(MJOA_CAPS, (n, 4))
    prof = (caps - x.mjoa0 + 0.3) * np.exp(0.25 * rng.standard_normal((n, 4)))
    key = rng.random((n, 4))
    b_c = x.mjoa0.sum(1)
    b_o = np.where(ans["0m"].all(1), b_c, np.nan)
    thr = 16.0 - b_c
    nat = thr + 0.5 + spread(excess, 1.8, 1.2)
    y = place_lower_better(nat, thr, label, b_o <= 16, 0, 18)
    f12 = 18.0 - y
    items = {"12m": mjoa_items_from_score(f12, prof, key)}
    noise = _early_noise(rng, n)
    for tp in _EARLY:
        f = np.clip(
            np.rint(b_c + CERVICAL_TRAJECTORY[tp][x.treatment] * (f12 - b_c) + 0.8 * noise[tp]),
            0,
            18,
        )
        items[tp] = mjoa_items_from_score(f, prof, key)
    return {"items": items, "mjoa_change": f12 - b_c}
