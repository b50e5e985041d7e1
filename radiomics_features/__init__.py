"""radiomics_features: per-level MRI features of the lumbar spine.

Level names follow the cohort contract: ``l1_l2 … l5_s1`` for discs, ``l1 … l5`` for
vertebrae (``radiomics_features.levels``).
"""

__version__ = "0.1.0"
