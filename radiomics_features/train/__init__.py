"""Training code for the bundled segmentation backbone (needs torch; never imported at run time).

Run ``python -m radiomics_features.train --data ../shared/data/spider-t2-lumbar
--out radiomics_features/backbone/`` in the training environment (``make train-seg``).
Modules: ``data`` (SPIDER reading, the fixed patient split), ``model`` (U-Net),
``augment``, ``loop`` (training), ``export`` (ONNX + sidecar), ``evaluate``.
"""
