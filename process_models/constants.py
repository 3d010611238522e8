"""Physical constants and gas data (SI unless the name says otherwise)."""

from __future__ import annotations

K_B_J_K = 1.380649e-23
"""Boltzmann constant [J/K]."""
K_B_EV_K = 8.617333262e-5
"""Boltzmann constant [eV/K]."""
E_CHARGE_C = 1.602176634e-19
"""Elementary charge [C]."""
AVOGADRO = 6.02214076e23
"""Avogadro constant [1/mol]."""
PA_PER_TORR = 133.322368
"""Pascal per torr."""
LANGMUIR_PA_S = 1e-6 * PA_PER_TORR
"""One langmuir, 1e-6 Torr·s, in Pa·s (FACTS §4 [C])."""
ZERO_C_K = 273.15
"""0 °C in kelvin."""

# Gas kinetic diameters [m] (FACTS §3 [C]: Ar 3.4 Å, N2 3.7 Å) and masses [amu].
AR_DIAMETER_M = 3.4e-10
N2_DIAMETER_M = 3.7e-10
AR_MASS_AMU = 39.948
AR_Z = 18
N_MASS_AMU = 14.007
N_Z = 7
H2O_MASS_AMU = 18.015

# Li3PO4: formula mass 115.79 g/mol, 8 atoms per formula unit, density of sputtered films ~2.4 g/cm³ [M].
LI3PO4_MOLAR_MASS_G = 115.79
LI3PO4_ATOMS_PER_FORMULA = 8
LI3PO4_MEAN_ATOMIC_MASS_AMU = LI3PO4_MOLAR_MASS_G / LI3PO4_ATOMS_PER_FORMULA
LI3PO4_MEAN_Z = (3 * 3 + 15 + 4 * 8) / 8
LI3PO4_OXYGEN_FRACTION = 4 / 8
P_MASS_AMU = 30.974
