"""What ``prom demo`` fits: the quick default run, or the complete one (``--full``).

Fitting every built-in task with all five families, five folds and a tuning search takes
a quarter of an hour on a two-core machine, too long to show someone the flow. The quick
plan keeps the whole flow — every task is fitted, compared with logistic regression,
validated site by site, written to a signed bundle and reported — but spends the time on
one task: ``mcid_odi_12m`` gets all five families at a reduced search, every other
classification task logistic regression and the elastic net, the survival task the Cox
model, all with three folds and fewer bootstrap replicates, and the imaging summary
measures a few scans. :meth:`DemoPlan.describe` says exactly that in the demo's output,
with the command of the complete run (``prom demo --full``, ``make demo-full``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prom.workflows.settings import FAMILIES, SURVIVAL_FAMILIES, FitSettings

__all__ = ["DemoPlan", "quick_plan", "full_plan", "SHOWCASE_TASK"]

#: The task the quick run fits with every family.
SHOWCASE_TASK = "mcid_odi_12m"


@dataclass(frozen=True)
class DemoPlan:
    """Which families each task gets, with which settings, and how many scans are measured.

    ``families``: per task name, the families to fit (tasks not named get
    ``default_families``, survival tasks ``survival_families``); ``settings`` the
    classification tasks' :class:`FitSettings`, ``survival_settings`` the survival task's;
    ``imaging_scans`` how many SPIDER scans the imaging summary measures (``None``: all,
    ``0``: none); ``tasks`` the built-in tasks to fit (``None``: every one);
    ``report_shap_rows`` the rows per task the report's SHAP summaries explain.
    """

    name: str
    families: dict[str, tuple[str, ...]] = field(default_factory=dict)
    default_families: tuple[str, ...] = FAMILIES
    survival_families: tuple[str, ...] = SURVIVAL_FAMILIES
    settings: FitSettings = field(default_factory=FitSettings)
    survival_settings: FitSettings = field(default_factory=FitSettings)
    imaging_scans: int | None = None
    tasks: tuple[str, ...] | None = None
    report_shap_rows: int = 500

    def __post_init__(self) -> None:
        if self.imaging_scans is not None and (
            not isinstance(self.imaging_scans, int) or self.imaging_scans < 0
        ):
            raise ValueError(
                f"imaging_scans={self.imaging_scans!r}; expected a count ≥ 0 or None (every scan)"
            )
        if self.tasks is not None:
            from prom.outcomes import TASKS

            unknown = [t for t in self.tasks if t not in TASKS]
            if unknown:
                raise ValueError(
                    f"unknown task(s) {', '.join(unknown)}; built-in tasks: {', '.join(TASKS)}"
                )

    def families_for(self, task: str, kind: str) -> tuple[str, ...]:
        """The families this plan fits for ``task`` (of kind ``kind``)."""
        if kind == "survival":
            return self.survival_families
        return self.families.get(task, self.default_families)

    def describe(self) -> str:
        """One paragraph for the demo's output: what this run fits (and how to run more)."""
        s, sv = self.settings, self.survival_settings
        per_task = "; ".join(f"{t}: {', '.join(f)}" for t, f in self.families.items())
        text = (
            f"{self.name} run: "
            + (f"{per_task}; " if per_task else "")
            + f"{'other ' if per_task else ''}classification tasks: "
            f"{', '.join(self.default_families)}; survival: {', '.join(self.survival_families)}. "
            f"{s.n_splits}-fold CV, tuning {s.n_iter} candidate(s) per family, "
            f"{s.n_boot} bootstrap replicates for the comparison; survival "
            f"{sv.n_splits}-fold × {sv.n_repeats} CV, {sv.n_boot} replicates; "
            + (
                f"{s.optimism_boot} bootstrap optimism refits"
                if s.optimism_boot
                else "no bootstrap optimism"
            )
            + "; imaging: "
            + (
                "every scan"
                if self.imaging_scans is None
                else "none"
                if self.imaging_scans == 0
                else f"the first {self.imaging_scans} scans"
            )
            + "."
            + ("" if self.tasks is None else f" Tasks fitted: {', '.join(self.tasks)}.")
            + f" The report explains {self.report_shap_rows} rows per task with SHAP."
        )
        if self.name == "quick":
            text += (
                " The complete run (every family for every task, 5-fold CV, tuning 3 "
                "candidates, 200 replicates, every scan; about 17 minutes on two cores "
                "when last measured): prom demo --full, or make demo-full."
            )
        return text


def quick_plan(seed: int = 2026, jobs: int = 2) -> DemoPlan:
    """The default ``prom demo``: the whole flow in a few minutes (see the module docstring)."""
    return DemoPlan(
        name="quick",
        families={SHOWCASE_TASK: FAMILIES},
        default_families=("logistic", "elastic_net"),
        survival_families=("cox",),
        settings=FitSettings(
            n_splits=3, n_iter=1, n_boot=100, optimism_boot=0, random_state=seed, n_jobs=jobs
        ),
        survival_settings=FitSettings(
            n_splits=3, n_repeats=1, n_boot=50, optimism_boot=0, random_state=seed, n_jobs=jobs
        ),
        imaging_scans=3,
        report_shap_rows=200,
    )


def full_plan(seed: int = 2026, jobs: int = 2) -> DemoPlan:
    """``prom demo --full``: every family for every task, 5-fold CV, every scan."""
    return DemoPlan(
        name="complete",
        settings=FitSettings(
            n_splits=5, n_iter=3, n_boot=200, optimism_boot=0, random_state=seed, n_jobs=jobs
        ),
        survival_settings=FitSettings(
            n_splits=5, n_repeats=1, n_boot=200, optimism_boot=0, random_state=seed, n_jobs=jobs
        ),
        imaging_scans=None,
    )
