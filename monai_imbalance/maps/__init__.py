"""Pure functions label -> map (numpy in -> numpy out, torch in -> torch out on the same device).

Inverse lesion-size weights (Shirokikh et al., MICCAI 2020) and the connected components they rest on.
"""

from __future__ import annotations

from monai_imbalance.maps.components import component_sizes, label_components
from monai_imbalance.maps.distance import distance_transform, label_distance_transform
from monai_imbalance.maps.inverse import inverse_weight_map
from monai_imbalance.maps.region_wise import active_contour_map, boundary_distance_map, rrw_map

__all__ = [
    "active_contour_map",
    "boundary_distance_map",
    "component_sizes",
    "distance_transform",
    "inverse_weight_map",
    "label_components",
    "label_distance_transform",
    "rrw_map",
]
