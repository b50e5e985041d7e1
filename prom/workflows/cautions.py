"""The cautions of a fit: each one once, naming its model family, with how often it arose.

A five-family fit runs hundreds of model fits. A solver that struggles, or a calibration
that meets predictions of exactly 0 or 1, warns in many of them — in every fold, every
bootstrap sample, every final fit — with figures (rows, columns) that differ a little
from fit to fit. Shown as they come, that is a screen of near-identical lines that do
not say which model they are about. :class:`Cautions` collects them instead, per family,
and gives each kind once::

    elastic_net: the solver did not converge cleanly on 206 rows … (31 fits, in
    cross-validation and the final fit; figures from the first)

A message that several families raised word for word (a category level that some
cross-validation folds never saw, met by every family's fits of those folds) is one line
naming them, each with its own count and place::

    categorical value(s) not seen in the training rows … (random_forest, xgboost: 1 fit
    each, in cross-validation; logistic: 13 fits, in cross-validation and bootstrap samples)

Messages are the same kind when they differ only in their numbers. The resampling
functions have already counted their repeats (``"… [while fitting in cross-validation:
5 time(s)]"``, :func:`prom.parallel.reissue_warnings`): that count and place are read
back, not counted twice. Deprecation and future warnings are about the software, not the
fit: they pass through untouched.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from prom.errors import StatisticalWarning

__all__ = ["Caution", "Cautions", "chance_caution", "separation_caution"]

_WHERE = re.compile(
    r"^(?P<msg>.*) \[(?P<where>while [^\[\]]*?)(?:: (?P<k>\d+) time\(s\))?\]$", re.S
)
_NUMBER = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
_PASS_THROUGH = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


@dataclass
class Caution:
    """One kind of caution: the family it is about (``None``: the whole task), its
    category, the first message, how many times it arose and where."""

    family: str | None
    category: type[Warning]
    message: str
    count: int = 0
    places: list[str] = field(default_factory=list)
    varied: bool = False

    def describe(self) -> str:
        """The one line a user sees (CLI, manifest warnings, report)."""
        text = self.message
        if self.family and not text.startswith(f"{self.family}:"):
            text = f"{self.family}: {text}"
        if self.count <= 1 and not self.places:
            return text
        return f"{text} ({self.detail()})"

    def detail(self, each: bool = False) -> str:
        """How often and where: ``"13 fits, in cross-validation and bootstrap samples"``
        (``each``: the same for each of several families)."""
        detail = f"{self.count} fits" if self.count > 1 else "1 fit"
        if each:
            detail += " each"
        if self.places:
            detail += f", in {' and '.join(self.places)}"
        if self.varied:
            detail += "; figures from the first"
        return detail


def _place(where: str) -> str:
    """``"while fitting in cross-validation"`` → ``"cross-validation"``."""
    if where.startswith("while fitting in "):
        return where[len("while fitting in ") :]
    if where.startswith("while fitting on "):
        return "the fit on " + where[len("while fitting on ") :]
    return where.removeprefix("while ")


class Cautions:
    """Collects the warnings of a fit (see the module docstring).

    ``with cautions.collect("xgboost", "the final fit"): ...`` records every warning the
    block raises against that family; :meth:`add` records one directly; :meth:`items`
    gives the collected kinds in the order first seen; :meth:`reissue` warns each once.
    """

    def __init__(self) -> None:
        self._kinds: dict[tuple, Caution] = {}

    @contextmanager
    def collect(self, family: str | None, place: str | None = None) -> Iterator[None]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for w in caught:
            if issubclass(w.category, _PASS_THROUGH):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
            else:
                self.add(family, w.category, str(w.message), place)

    def add(
        self,
        family: str | None,
        category: type[Warning],
        message: str,
        place: str | None = None,
    ) -> None:
        count = 1
        m = _WHERE.match(message)
        if m:
            message = m.group("msg")
            place = _place(m.group("where"))
            count = int(m.group("k") or 1)
        if family and message.startswith(f"{family}: "):
            message = message[len(family) + 2 :]
        key = (family, category, _NUMBER.sub("#", message))
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._kinds[key] = Caution(family, category, message)
        elif message != kind.message:
            kind.varied = True
        kind.count += count
        if place and place not in kind.places:
            kind.places.append(place)

    def items(self) -> list[Caution]:
        return list(self._kinds.values())

    def messages(self) -> list[str]:
        """One line per kind, as :meth:`Caution.describe` gives it; a message that several
        families raised word for word is one line naming them all (``"… (random_forest,
        xgboost: 1 fit each, in cross-validation; logistic: 13 fits, in …)"``)."""
        return [line for _, line in self._lines()]

    def _lines(self) -> list[tuple[type[Warning], str]]:
        groups: dict[tuple, list[Caution]] = {}
        for c in self._kinds.values():
            groups.setdefault((c.category, c.message, c.family is None), []).append(c)
        out = []
        for (category, message, _), kinds in groups.items():
            if len(kinds) == 1:
                out.append((category, kinds[0].describe()))
                continue
            by_detail: dict[tuple, list[str]] = {}
            for c in kinds:
                by_detail.setdefault((c.count, tuple(c.places), c.varied), []).append(str(c.family))
            parts = []
            for families in by_detail.values():
                first = next(c for c in kinds if c.family == families[0])
                parts.append(f"{', '.join(families)}: {first.detail(each=len(families) > 1)}")
            out.append((category, f"{message} ({'; '.join(parts)})"))
        return out

    def reissue(self, stacklevel: int = 3) -> None:
        """Warn each line of :meth:`messages` once (its category kept; statistical
        cautions stay :class:`~prom.errors.StatisticalWarning`)."""
        for category, line in self._lines():
            category = category if issubclass(category, Warning) else StatisticalWarning
            warnings.warn(line, category, stacklevel=stacklevel)


def chance_caution(
    task: str, model: str, metric: str, estimate: float, low: float, high: float
) -> str | None:
    """The caution for a primary model whose cross-validated discrimination (AUC or
    Harrell's C, with its 95% interval) cannot be told from chance: the interval reaches
    down to 0.5. ``None`` when it stays above."""
    if not all(np.isfinite([estimate, low, high])) or low > 0.5:
        return None
    return (
        f"{task}: the primary model's ({model}) cross-validated {metric} is {estimate:.3f} "
        f"(95% CI {low:.3f}–{high:.3f}), an interval that reaches 0.5: these rows do not "
        "show that it ranks patients better than chance; do not use its predictions "
        "without a better model or more data"
    )


def separation_caution(task: str, model: str, metric: str, estimate: float) -> str | None:
    """The caution for a primary model whose cross-validated discrimination is perfect
    (AUC or Harrell's C of 0.999 or more): real outcomes are rarely separated by what is
    known before them, so a predictor is likely recorded with or after the outcome. ``None``
    below."""
    if not np.isfinite(estimate) or estimate < 0.999:
        return None
    return (
        f"{task}: the primary model's ({model}) cross-validated {metric} is {estimate:.3f}: "
        "its predictions separate the outcome, which outcomes known only later rarely allow "
        "— look for a predictor recorded with or after the outcome (leakage; the diagnostics "
        "name a predictor that separates it alone) before using this model"
    )
