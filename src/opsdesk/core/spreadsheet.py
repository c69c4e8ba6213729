"""Text for a cell of a CSV export that people open in a spreadsheet: Excel, LibreOffice and Sheets run
a cell that starts with one of FORMULA_START as a formula (CSV injection); a quote in front keeps it
text."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: object | None) -> str:
    """``value`` as the cell's text (None as an empty cell), never read as a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
