"""spine-prom: clinical outcome prediction for spine care.

Sub-packages
------------
prom.instruments  PROM scoring (ODI, NRS, COMI, mJOA) and MCID rules
prom.cohort       the cohort data contract, validation, readers, column mapping, simulator
prom.outcomes     the prediction-task registry (labels, eligible rows, predictors)
"""

__version__ = "0.1.0"
