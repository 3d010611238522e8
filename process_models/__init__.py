"""Pure, vectorised physics of RF sputtering of Li3PO4/LiPON onto LiCoO2.

No state, no simulation framework: every function takes scalars or numpy arrays and a frozen parameter set.
Sources are named in each docstring and collected in ``physics/FACTS.md``.
"""

from process_models.contamination import CONTAMINATION, ContaminationParams
from process_models.defects import DEFECTS, DefectParams
from process_models.deposition import DEPOSITION, DepositionParams
from process_models.energetics import ENERGETICS, EnergeticsParams
from process_models.film import FILM, FilmParams
from process_models.interface import INTERFACE, InterfaceParams

MODEL_VERSION = "1.1.0"
"""Version of the physics; recorded with every result. Bump on any change of model or default."""

__all__ = [
    "CONTAMINATION", "DEFECTS", "DEPOSITION", "ENERGETICS", "FILM", "INTERFACE", "MODEL_VERSION",
    "ContaminationParams", "DefectParams", "DepositionParams", "EnergeticsParams", "FilmParams",
    "InterfaceParams",
]
