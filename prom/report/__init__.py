"""Self-contained HTML reports of a model bundle (TRIPOD+AI checklist, model card).

- :mod:`prom.report.cohort` — Table 1 and missingness;
- :mod:`prom.report.figures` — matplotlib figures (``Figure`` objects, never pyplot);
- :mod:`prom.report.tripod` (the items) and :mod:`prom.report.tripod_answers` (what a
  run can answer), :mod:`prom.report.model_card` — the checklist and card;
- :mod:`prom.report.sections_cohort`, :mod:`~prom.report.sections_models`,
  :mod:`~prom.report.sections_curves`, :mod:`~prom.report.sections_survival` — the HTML
  sections of a task;
- :mod:`prom.report.build` — :func:`write_report`, what ``prom report`` runs.
"""

__all__ = ["build_report", "write_report"]


def __getattr__(name: str):
    # lazily: a fit imports prom.report.cohort (Table 1) and should not pay for the HTML side
    if name in __all__:
        from prom.report import build

        return getattr(build, name)
    raise AttributeError(name)
