"""Automatic circuit identification: candidate circuits built from the data (DRT peaks,
head and tail shapes), each fitted without guesses, ranked with the evidence (issue 16)."""
