"""Self-contained HTML reports of a model bundle (TRIPOD+AI checklist, model card).

- :mod:`prom.report.record` — the validation record a fit writes into its bundle
  (aggregates only; where the report's numbers come from);
- :mod:`prom.report.cohort` — Table 1 and missingness;
- :mod:`prom.report.figures` — matplotlib figures (``Figure`` objects, never pyplot);
- :mod:`prom.report.tripod` and :mod:`prom.report.model_card` — the checklist and card;
- :mod:`prom.report.sections` — one HTML section per task;
- :mod:`prom.report.build` — :func:`write_report`, what ``prom report`` runs.
"""

__all__ = ["build_report", "write_report"]


def __getattr__(name: str):
    # lazily: a fit imports prom.report.record and should not pay for the HTML side
    if name in __all__:
        from prom.report import build

        return getattr(build, name)
    raise AttributeError(name)
