"""What a checked booster file holds, the booster formats, and the size limit.

Shared by the structural checks of :mod:`prom.bundle.lightgbm_text` and
:mod:`prom.bundle.xgboost_ubj`, and by :mod:`prom.bundle.booster_guard`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BOOSTER_FORMATS", "MAX_BOOSTER_BYTES", "WHOLE_NUMBER", "BoosterSummary"]

#: The booster formats, and the library that reads each.
BOOSTER_FORMATS = {"lightgbm-text": "LightGBM", "xgboost-ubj": "XGBoost"}

#: The largest booster file accepted. The largest model the tuning search space allows
#: (1,000 trees per class, 3 classes, 32 leaves or depth 6) is about 16 MB in either
#: format; a file four times that size is not one this package wrote.
MAX_BOOSTER_BYTES = 64 * 2**20


#: A whole number as both libraries write one (in a LightGBM header, in XGBoost's
#: parameters stored as text): at most ten digits.
WHOLE_NUMBER = re.compile(r"-?\d{1,10}")


@dataclass(frozen=True)
class BoosterSummary:
    """What a checked booster file holds: its format, the number of input columns it
    reads, the number of classes it predicts (2 for a binary model) and its trees."""

    format: str
    n_features: int
    n_classes: int
    n_trees: int
