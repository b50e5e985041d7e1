"""An estimator's OpenMP threads held to its own ``n_jobs`` while it is fitted.

XGBoost trains on ``n_jobs`` threads, but part of its data set-up (copying the labels
into its ``DMatrix``) runs on the OpenMP runtime's default team of every core. Inside
resampling, where each fit is given one thread and the parallelism is over resamples,
starting and spinning that team costs more than the training itself on a few hundred
rows: an XGBoost fit of 400 rounds on 165 rows × 6 columns took 84 ms of CPU, 48 ms with
the limit (a 2-core machine; 34 ms against 4 ms for one round). The trees and the
predictions are the same numbers with or without it (``tests/test_models_threads.py``).

Families declare it (:attr:`prom.models.specs.ModelSpec.limit_openmp`);
:func:`prom.models.tuning.fit_estimator` applies it. LightGBM passes its thread count
to every OpenMP region itself and needs none. In loky worker processes joblib already
sets the limit; this covers fits in the calling process (``n_jobs=1``).
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["openmp_threads"]

_controller: Any = None


def openmp_threads(n_jobs: Any) -> contextlib.AbstractContextManager:
    """A context holding the OpenMP runtimes loaded so far to ``n_jobs`` threads (a
    positive integer; anything else, such as ``-1`` or ``None``, leaves them alone)."""
    global _controller
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs < 1:
        return contextlib.nullcontext()
    from threadpoolctl import ThreadpoolController

    if _controller is None:  # made at the first fit, when the family's library is loaded
        _controller = ThreadpoolController()
    return _controller.limit(limits=n_jobs, user_api="openmp")
