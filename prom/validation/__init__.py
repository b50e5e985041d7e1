"""Model validation: discrimination, calibration, decision curves and survival metrics.

The metric functions are re-exported from :mod:`prom.validation.metrics`; see there for
the list.
"""

from prom.validation.metrics import *  # noqa: F401,F403
from prom.validation.metrics import __all__  # noqa: F401
