"""Bulk scoring of a registry's table with a model bundle (``prom score``).

>>> from prom.score import score_file
>>> summary = score_file("bundle/", "registry.parquet", "scored.parquet")  # doctest: +SKIP
>>> r = summary["rows"]  # read, scored, quarantined, problems       # doctest: +SKIP
>>> r["scored"] + r["quarantined"] == r["read"]                             # doctest: +SKIP
True

Writes ``scored.parquet`` (one row per good input row: probabilities, the flags of entries
outside a model's training range (``out_of_range``) and of those inside it but in a tail,
below its 1st or above its 99th percentile (``in_training_tail``), provenance),
``scored.quarantine.csv`` (one line per problem of a bad row) and ``scored.summary.json``.

Modules, one job each: :mod:`~prom.score.source` (streaming reads), :mod:`~prom.score.plan`
(what to read and check), :mod:`~prom.score.checks` (row checks, duplicated ids),
:mod:`~prom.score.core` (the scoring function), :mod:`~prom.score.quarantine` (a batch's
quarantine records), :mod:`~prom.score.reasons` (top-k
reasons), :mod:`~prom.score.drift` (drift and calibration totals),
:mod:`~prom.score.output` (atomic files), :mod:`~prom.score.engines` (local and Dask),
:mod:`~prom.score.flags` (out-of-range and training-tail accounting),
:mod:`~prom.score.run` (the run and its summary).
"""

from prom.score.output import OutputInUseError
from prom.score.plan import ScoreError
from prom.score.run import default_paths, score_file, summary_lines

__all__ = ["score_file", "default_paths", "summary_lines", "ScoreError", "OutputInUseError"]
