"""Name the levels of a three-class lumbar mask: which disc is L4/L5, which body is L4.

Steps (canonical LR, SI, AP arrays; :mod:`radiomics_features.io`):

1. **Vertebral bodies.** The vertebra class holds bodies *and* posterior elements
   (SPIDER), which touch through the pedicles and facets, so a 3D component is not a
   body. The body is the part anterior to the canal: per image row, the canal's most
   anterior voxel (over all slices) marks the posterior wall of the column; rows
   without canal are interpolated from their neighbours. Without a canal the discs'
   posterior edge is used instead. The pedicles and arch lie behind that line.
2. **Instances.** 3D components (6-connected) of discs and bodies above a minimum
   size; pieces of one structure (overlapping along the spine) are merged. Touching
   bodies are separated in two ways: a body component with a disc lying inside its
   extent (bodies meeting around a small disc) is cut along that disc's plane; a body
   component still much taller than the others (> 1.6× the typical body height, e.g.
   two bodies bridged where a collapsed disc is unlabelled) is split along the spine
   axis at equal divisions, moved to the narrowest cross-section nearby when there is
   a clear waist (< 85 % of the local median area).
3. **Order and names.** Structures are ordered along the spine axis (principal
   direction of their centroids, pointing inferior). **The lowest visible disc is taken
   as L5/S1** and discs are named upward (L4/L5, L3/L4, …, then T12/L1 …); the body
   above a disc is the upper vertebra of its name (above L5/S1 is L5). Two bodies with
   no disc between mean a disc is missing; two discs with no body between mean a body
   is missing; a gap between discs ≥ 1.7× the typical spacing means whole levels are
   missing. Each such inference is noted and lowers the confidence of every name above.

What breaks it: a lumbosacral transitional vertebra (sacralised L5 or lumbarised S1 /
L6) or a field of view that ends above L5/S1 shifts every name by one, and neither can
be detected from a lumbar sagittal stack alone; the output says so
(:data:`LEVELLING_ASSUMPTION`, per-level ``confidence`` and ``notes``). Missing or
truncated levels are reported, never raised.

After measuring, :mod:`~radiomics_features.levelling.plausibility` checks every named level
against anatomical ranges, its neighbours' spacing and the level sequence (called by
:func:`radiomics_features.geometry.spine_geometry`): a failed check lowers the level's and
the case's confidence and records why, so that a wrong inference does not leave a
confident wrong level.

Instance ids follow :data:`radiomics_features.labels.INSTANCE_ID_RULE` (1 = L5 body,
201 = L5/S1 disc), the same as SPIDER's original masks.

Modules: :mod:`~radiomics_features.levelling.spine` (:func:`label_levels`,
:class:`LevelledSpine`), :mod:`~radiomics_features.levelling.bodies` (step 1),
:mod:`~radiomics_features.levelling.instances` (step 2),
:mod:`~radiomics_features.levelling.naming` (step 3).
"""

from radiomics_features.levelling.bodies import vertebral_bodies
from radiomics_features.levelling.spine import LEVELLING_ASSUMPTION, LevelledSpine, label_levels

__all__ = ["LEVELLING_ASSUMPTION", "LevelledSpine", "vertebral_bodies", "label_levels"]
