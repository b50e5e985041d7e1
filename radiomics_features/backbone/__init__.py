"""The bundled 2D segmentation backbone for sagittal T2 lumbar MRI.

``spine_seg.onnx`` (weights), ``spine_seg.json`` (sidecar: preprocessing, classes,
training data and split, sha256 of the weights) and ``MODEL_CARD.md`` live here;
``segment_volume`` runs the network with onnxruntime. Trained on SPIDER (van der Graaf
et al., Sci Data 2024; CC BY 4.0) by ``radiomics_features.train``.
"""

from radiomics_features.backbone.inference import (
    Backbone,
    BackboneIntegrityError,
    load_backbone,
    segment_volume,
)

__all__ = ["Backbone", "BackboneIntegrityError", "load_backbone", "segment_volume"]
