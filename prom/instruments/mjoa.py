"""Modified Japanese Orthopaedic Association score (Benzel), for cervical myelopathy."""

from __future__ import annotations

import numpy as np

from prom.instruments.base import Band, Instrument, Item

__all__ = ["MJOA"]


class MJOA(Instrument):
    """mJOA (Benzel version), 0–18, higher is better.

    Items: upper-limb motor 0–5, lower-limb motor 0–7, upper-limb sensation 0–3,
    sphincter (urinary) function 0–3. Score = sum. Every item is required: a sum cannot be
    pro-rated without changing its meaning.

    Severity (Tetreault et al. 2017): severe 0–11, moderate 12–14, mild 15–17; 18 is no
    impairment.
    """

    key = "mjoa"
    name = "mJOA"
    version = "Benzel-1991"
    citation = (
        "Benzel EC, Lancon J, Kesterson L, Hadden T. Cervical laminectomy and dentate "
        "ligament section for cervical spondylotic myelopathy. J Spinal Disord "
        "1991;4(3):286-295. Severity: Tetreault L, Kopjar B, Nouri A, et al. The modified "
        "Japanese Orthopaedic Association scale: establishing criteria for mild, moderate "
        "and severe impairment in patients with degenerative cervical myelopathy. "
        "Eur Spine J 2017;26(1):78-84."
    )
    items = (
        Item(
            "motor_upper", "upper-extremity motor dysfunction (0 unable to feed … 5 normal)", 0, 5
        ),
        Item("motor_lower", "lower-extremity motor dysfunction (0 complete loss … 7 normal)", 0, 7),
        Item("sensory_upper", "upper-extremity sensation (0 complete loss … 3 normal)", 0, 3),
        Item("sphincter", "urinary function (0 retention … 3 normal)", 0, 3),
    )
    score_range = (0.0, 18.0)
    higher_is_better = True
    default_max_missing = 0
    missing_rule = "every item must be answered (a sum cannot be pro-rated)"
    bands = (
        Band("severe", 0, 11),
        Band("moderate", 12, 14),
        Band("mild", 15, 17),
        Band("none", 18, 18),
    )

    def raw_score(self, answers: np.ndarray) -> np.ndarray:
        return answers.sum(axis=1)
