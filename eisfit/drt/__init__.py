"""Distribution of relaxation times (DRT): an impedance spectrum as R_inf (+ L) plus a
continuous sum of RC relaxations, gamma(ln tau), found without a circuit (issue 16)."""
