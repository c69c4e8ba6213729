"""Shift swaps: an agent offers one of their published shifts to a colleague, the colleague accepts, and
a support lead approves before the shift changes hands."""
