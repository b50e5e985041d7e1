"""Disc grader: Pfirrmann grade and disc findings from one mid-sagittal slice.

``grade_slice`` localises and numbers the discs (``localise``: the bundled backbone,
orientation search, numbering from the sacrum), crops each disc (``crops``) and runs the
bundled ``grader.onnx`` (``inference``; onnxruntime only). Trained on SPIDER (van der
Graaf et al., Sci Data 2024; CC BY 4.0) by ``train_cnn`` in the training venv; the data
set, the checks and the cross-validation are built by ``build`` and ``cv``
(``make train-grader``). See ``MODEL_CARD.md``.
"""

from radiomics_features.grader.inference import (
    DiscGrade,
    Grader,
    GraderIntegrityError,
    SliceGrades,
    grade_crops,
    grade_slice,
    load_grader,
)
from radiomics_features.grader.localise import Localisation, localise_discs

__all__ = [
    "DiscGrade",
    "Grader",
    "GraderIntegrityError",
    "Localisation",
    "SliceGrades",
    "grade_crops",
    "grade_slice",
    "load_grader",
    "localise_discs",
]
