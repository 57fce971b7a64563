"""CSV downloads that are safe to open in a spreadsheet.

Incident notes, actor names and file names come from outside. A text cell that starts with
``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some spreadsheets skip before
reading a formula) would be run as a formula by Excel, LibreOffice or Google Sheets: OWASP's
"CSV injection". Such cells get a leading apostrophe, which spreadsheets show as text and hide.
Numbers are written as numbers, so a fatality count of -1 stays a number.
"""

from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"  # lets Excel read the file as UTF-8 (Arabic names, accents)


def neutralise(value: object) -> object:
    """A text value that a spreadsheet would read as a formula, made plain text; others as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_csv(frame: pd.DataFrame) -> bytes:
    """The frame as UTF-8 CSV bytes (with a BOM), formula-like text cells neutralised."""
    safe = frame.copy()
    safe.columns = [neutralise(str(column)) for column in safe.columns]
    for position in range(safe.shape[1]):
        values = safe.iloc[:, position]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        safe.isetitem(position, values.astype(object).map(neutralise))
    # CRLF row ends (RFC 4180) also make the writer quote any field holding a lone CR.
    return (BOM + safe.to_csv(index=False, lineterminator="\r\n")).encode("utf-8")
