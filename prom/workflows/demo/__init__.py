"""``prom demo`` and the embedded demonstration bundle.

- :mod:`prom.workflows.demo.run` — the whole flow on a simulated cohort (``prom demo``);
- :mod:`prom.workflows.demo.bundle` — the compact bundle the calculator ships with
  (``make demo-bundle``);
- :mod:`prom.workflows.demo.imaging` — the demo's summary of the SPIDER scans through
  the imaging pipeline.
"""

from prom.workflows.demo.run import run_demo, task_summary

__all__ = ["run_demo", "task_summary"]
