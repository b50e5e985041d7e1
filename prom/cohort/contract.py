"""The cohort data contract: every column's dtype, unit, allowed range and missingness.

One row per patient episode, keyed by ``patient_id``. Columns are declared, not inferred:
the declaration is what validation checks, what the simulator produces, what readers map
onto, and what the model bundles record as their feature schema.

Roles
-----
``id``        the key (``patient_id``)
``context``   recorded about the episode but not a predictor by default (``site``)
``predictor`` candidate predictor known before treatment
``treatment`` the treatment received (the ``triage`` label; a predictor for MCID tasks)
``item``      a PROM item answer (``odi_lifting_0m``)
``score``     a PROM score (``odi_0m``) — computed from items by ``prom.instruments``
``anchor``    an external anchor for anchor-based MCID (``grc_12m``)
``outcome``   outcome data that is not a PROM (time to surgery, event indicator)
``imaging``   a per-level MRI feature (``img_l4_l5_canal_ap_mm``)
``truth``     simulator-only ground truth (``true_p_<task>``); never a predictor
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from prom.naming import DISC_LEVELS, TIMEPOINTS, imaging_column

__all__ = [
    "ColumnSpec",
    "Contract",
    "COHORT_CONTRACT",
    "IMAGING_FEATURES",
    "CATEGORIES",
    "TASK_TRUTH_COLUMNS",
    "scoring_columns",
    "extra_imaging_spec",
]

Dtype = Literal["float", "int", "bool", "category", "string"]
Role = Literal[
    "id",
    "context",
    "predictor",
    "treatment",
    "item",
    "score",
    "anchor",
    "outcome",
    "imaging",
    "truth",
]


@dataclass(frozen=True)
class ColumnSpec:
    """Declaration of one column of the cohort table.

    ``low``/``high`` are inclusive bounds for numeric columns; ``categories`` the allowed
    values of a category column; ``nullable`` whether a missing value is allowed at all.
    """

    name: str
    dtype: Dtype
    role: Role
    description: str
    unit: str | None = None
    low: float | None = None
    high: float | None = None
    categories: tuple[str, ...] | None = None
    nullable: bool = True
    required: bool = False  # must the column be present in every cohort table?

    def expected(self) -> str:
        """Human-readable statement of what a valid value looks like."""
        if self.dtype == "category":
            return "one of " + ", ".join(self.categories) if self.categories else "a category label"
        if self.dtype == "bool":
            return "0 or 1 (or true/false, yes/no, t/f, y/n in any case)"
        if self.dtype == "string":
            return "a non-empty string"
        kind = "an integer" if self.dtype == "int" else "a number"
        unit = f" ({self.unit})" if self.unit else ""
        if self.low is None and self.high is None:
            return f"a finite {kind[3:] if kind.startswith('an ') else kind[2:]}{unit}"
        if self.high is None:
            return f"{kind} ≥ {self.low:g}{unit}"
        if self.low is None:
            return f"{kind} ≤ {self.high:g}{unit}"
        return f"{kind} in {self.low:g}–{self.high:g}{unit}"


@dataclass(frozen=True)
class Contract:
    """An ordered set of column declarations with lookup by name."""

    name: str
    version: str
    columns: tuple[ColumnSpec, ...]
    _by_name: Mapping[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, ColumnSpec] = {}
        for col in self.columns:
            if col.name in by_name:
                raise ValueError(f"contract {self.name!r} declares column {col.name!r} twice")
            by_name[col.name] = col
        object.__setattr__(self, "_by_name", by_name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> ColumnSpec | None:
        """The declaration of ``name``, or None when the contract does not declare it."""
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> ColumnSpec:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"column {name!r} is not declared in the {self.name} contract") from None

    def __iter__(self) -> Iterator[ColumnSpec]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def by_role(self, *roles: Role) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.role in roles)

    def required(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.required)


def scoring_columns(contract: Contract) -> frozenset[str]:
    """Names of the extra columns PROM scoring may write next to ``contract``'s columns.

    ``<column>_reason`` and ``<column>_band`` for every declared column, and
    ``<instrument>_version`` for every declared ``<instrument>_<time point>`` column.
    """
    out: set[str] = set()
    for name in contract.names:
        out.add(f"{name}_reason")
        out.add(f"{name}_band")
        for tp in TIMEPOINTS:
            if name.endswith(f"_{tp}"):
                out.add(f"{name[: -len(tp) - 1]}_version")
    return frozenset(out)


def extra_imaging_spec(name: str) -> ColumnSpec:
    """The declaration an undeclared ``img_*`` column is checked against: besides its
    declared columns a cohort table may carry further imaging features, which must be
    numbers."""
    return ColumnSpec(name, "float", "imaging", "further imaging feature")


# --- categories --------------------------------------------------------------------------

CATEGORIES: dict[str, tuple[str, ...]] = {
    "sex": ("female", "male"),
    "region": ("lumbar", "cervical"),
    "diagnosis": (
        "disc_herniation",
        "spinal_stenosis",
        "spondylolisthesis",
        "degenerative_disc_disease",
        "cervical_myelopathy",
    ),
    "smoking": ("never", "former", "current"),
    "employment": ("employed", "unemployed", "sick_leave", "retired", "student"),
    "treatment": ("conservative", "tfesi", "surgery"),
    "index_level": DISC_LEVELS,
}

# --- imaging features per disc level -----------------------------------------------------
# (feature, dtype, unit, low, high, description). Names match what radiomics_features
# writes for geometry; the texture features are its pyradiomics ``rad_firstorder_entropy``,
# ``rad_glcm_contrast`` and ``rad_glcm_correlation`` of the disc ROI. The simulator draws
# all of them on the scale the pipeline measures (prom.cohort.imaging_reference), and any
# further ``img_*`` column is accepted as an imaging feature.
IMAGING_FEATURES: tuple[tuple[str, Dtype, str | None, float, float, str], ...] = (
    ("disc_height_mm", "float", "mm", 0.0, 25.0, "mean disc height in the endplate frame"),
    (
        "disc_height_index",
        "float",
        None,
        0.0,
        1.5,
        "mean disc height / mean height of the adjacent vertebral bodies",
    ),
    ("canal_ap_mm", "float", "mm", 0.0, 35.0, "spinal canal AP diameter at the disc level"),
    ("disc_csf_signal_ratio", "float", None, 0.0, 3.0, "disc T2 signal / CSF T2 signal"),
    ("pfirrmann", "int", "grade", 1, 5, "Pfirrmann disc degeneration grade (radiologist)"),
    (
        "firstorder_entropy",
        "float",
        "bits",
        0.0,
        12.0,
        "first-order intensity entropy of the disc ROI",
    ),
    ("glcm_contrast", "float", None, 0.0, 1000.0, "GLCM contrast of the disc ROI"),
    ("glcm_correlation", "float", None, -1.0, 1.0, "GLCM correlation of the disc ROI"),
)

#: Binary tasks whose true probability the simulator stores (see prom.outcomes).
TASK_TRUTH_COLUMNS: tuple[str, ...] = (
    "mcid_odi_12m",
    "mcid_nrs_back_12m",
    "mcid_nrs_leg_12m",
    "mcid_comi_12m",
    "mcid_mjoa_12m",
    "tfesi_response",
)


def _base_columns() -> list[ColumnSpec]:
    C = ColumnSpec
    cat = CATEGORIES
    return [
        C(
            "patient_id",
            "string",
            "id",
            "unique key of the patient episode",
            nullable=False,
            required=True,
        ),
        C(
            "site",
            "string",
            "context",
            "treating site or registry unit",
            nullable=False,
            required=True,
        ),
        C(
            "region",
            "category",
            "predictor",
            "spinal region of the complaint",
            categories=cat["region"],
            nullable=False,
            required=True,
        ),
        C("diagnosis", "category", "predictor", "primary diagnosis", categories=cat["diagnosis"]),
        C(
            "age_years",
            "float",
            "predictor",
            "age at baseline",
            unit="years",
            low=0,
            high=110,
            nullable=False,
            required=True,
        ),
        C(
            "sex",
            "category",
            "predictor",
            "sex",
            categories=cat["sex"],
            nullable=False,
            required=True,
        ),
        C("bmi_kg_m2", "float", "predictor", "body-mass index", unit="kg/m2", low=12, high=70),
        C("smoking", "category", "predictor", "smoking status", categories=cat["smoking"]),
        C("diabetes", "bool", "predictor", "diabetes mellitus"),
        C("depression_anxiety", "bool", "predictor", "diagnosed depression or anxiety disorder"),
        C(
            "symptom_duration_months",
            "float",
            "predictor",
            "duration of the current symptoms",
            unit="months",
            low=0,
            high=600,
        ),
        C("prior_spine_surgery", "bool", "predictor", "any previous spine surgery"),
        C("opioid_use", "bool", "predictor", "regular opioid use at baseline"),
        C("asa_grade", "int", "predictor", "ASA physical status", unit="grade", low=1, high=5),
        C("employment", "category", "predictor", "employment status", categories=cat["employment"]),
        C(
            "index_level",
            "category",
            "predictor",
            "symptomatic (index) disc level, lumbar only",
            categories=cat["index_level"],
        ),
        C(
            "treatment",
            "category",
            "treatment",
            "treatment received after baseline",
            categories=cat["treatment"],
        ),
        C(
            "grc_12m",
            "int",
            "anchor",
            "global rating of change at 12 months: 1 much better, 2 better, 3 unchanged, 4 worse, 5 much worse",
            low=1,
            high=5,
        ),
        C(
            "time_to_surgery_months",
            "float",
            "outcome",
            "months from baseline to surgery, or to censoring (last follow-up)",
            unit="months",
            low=0,
            high=120,
        ),
        C(
            "surgery_event",
            "bool",
            "outcome",
            "1 if surgery happened at time_to_surgery_months, 0 if censored",
        ),
    ]


# PROM items and scores are declared by the instruments themselves; the contract asks
# them rather than repeating their ranges. Imported lazily-at-build to keep one source.
def _prom_columns() -> list[ColumnSpec]:
    from prom.instruments import INSTRUMENTS

    cols: list[ColumnSpec] = []
    seen: set[str] = set()
    for tp in TIMEPOINTS:
        for inst in INSTRUMENTS.values():
            for item, column in inst.item_columns(tp).items():
                if column in seen:  # COMI reads its pain items from the NRS columns
                    continue
                seen.add(column)
                spec = inst.item(item)
                cols.append(
                    ColumnSpec(
                        column,
                        "int" if spec.integer else "float",
                        "item",
                        f"{inst.name}: {spec.label} ({tp})",
                        unit=spec.unit,
                        low=spec.low,
                        high=spec.high,
                    )
                )
            score = inst.score_column(tp)
            if score not in seen:
                seen.add(score)
                lo, hi = inst.score_range
                cols.append(
                    ColumnSpec(
                        score,
                        "float",
                        "score",
                        f"{inst.name} score ({tp})",
                        unit=inst.score_unit,
                        low=lo,
                        high=hi,
                    )
                )
    return cols


def _imaging_columns() -> list[ColumnSpec]:
    cols = []
    for level in DISC_LEVELS:
        for feature, dtype, unit, lo, hi, desc in IMAGING_FEATURES:
            cols.append(
                ColumnSpec(
                    imaging_column(level, feature),
                    dtype,
                    "imaging",
                    f"{desc} at {level.upper().replace('_', '/')}",
                    unit=unit,
                    low=lo,
                    high=hi,
                )
            )
    for feature, dtype, unit, lo, hi, desc in IMAGING_FEATURES:
        # derived: the feature at the patient's index level (prom.cohort.derived)
        cols.append(
            ColumnSpec(
                f"img_index_{feature}",
                dtype,
                "imaging",
                f"{desc} at the index level",
                unit=unit,
                low=lo,
                high=hi,
            )
        )
    return cols


def _truth_columns() -> list[ColumnSpec]:
    cols = [
        ColumnSpec(
            f"true_p_{t}",
            "float",
            "truth",
            f"simulator: true probability of {t}",
            low=0.0,
            high=1.0,
        )
        for t in TASK_TRUTH_COLUMNS
    ]
    cols += [
        ColumnSpec(
            f"true_p_triage_{k}",
            "float",
            "truth",
            f"simulator: true probability of treatment {k}",
            low=0.0,
            high=1.0,
        )
        for k in CATEGORIES["treatment"]
    ]
    cols.append(
        ColumnSpec(
            "true_lp_surgery_conversion",
            "float",
            "truth",
            "simulator: true log-hazard ratio of surgery conversion",
            low=-50.0,
            high=50.0,
        )
    )
    return cols


#: The cohort contract (built on first use, see ``__getattr__`` below).
COHORT_CONTRACT: Contract


def build_cohort_contract() -> Contract:
    return Contract(
        name="cohort",
        version="1",
        columns=tuple(_base_columns() + _prom_columns() + _imaging_columns() + _truth_columns()),
    )


def __getattr__(name: str):
    # Built on first use: the instruments import nothing from here, so there is no cycle,
    # but building lazily keeps `import prom.cohort.contract` cheap.
    if name == "COHORT_CONTRACT":
        contract = build_cohort_contract()
        globals()["COHORT_CONTRACT"] = contract
        return contract
    raise AttributeError(name)
