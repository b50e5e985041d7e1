"""The cohort table: its data contract, validation, readers, column mapping and simulator.

>>> from prom.cohort import simulate_cohort, validate_cohort
>>> report = validate_cohort(simulate_cohort(500, seed=1))
>>> report.ok
True
"""

from prom.cohort.contract import CATEGORIES, ColumnSpec, Contract
from prom.cohort.mapping import ColumnMapping
from prom.cohort.readers import load_cohort, read_cohort, read_table
from prom.cohort.simulate import describe_simulation, simulate_cohort
from prom.cohort.validate import ValidationReport, coerce_to_contract, validate_cohort
from prom.cohort.writers import write_table


def __getattr__(name: str):
    if name == "COHORT_CONTRACT":
        from prom.cohort import contract

        return contract.COHORT_CONTRACT
    raise AttributeError(name)


__all__ = [
    "CATEGORIES",
    "COHORT_CONTRACT",
    "ColumnSpec",
    "Contract",
    "ColumnMapping",
    "load_cohort",
    "read_cohort",
    "read_table",
    "describe_simulation",
    "simulate_cohort",
    "ValidationReport",
    "coerce_to_contract",
    "validate_cohort",
    "write_table",
]
