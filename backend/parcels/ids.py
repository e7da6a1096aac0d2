"""Parcel ids and crop values as stored text.

An id is one column, several columns joined with :data:`ID_SEPARATOR` (a composite id such as
Denmark's field block + field number: ``554258-40_1-0``), or the 1-based row number
(``--id-from-row``; such ids do not carry over between years). Integral floats lose their
``.0`` (``106806035.0`` -> ``106806035``). A crop code read from an xlink (a column ending in
``_href``, e.g. INSPIRE's ``specificPresence_href``) keeps its last path segment; a href that
ends in the code list itself (``.../LandUseClassificationValue``: no value) gives no code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backend.errors import InvalidInput
from backend.parcels.columns import as_text

ID_SEPARATOR = "_"
ROW_ID_WARNING = ("ids are row numbers (--id-from-row): they do not carry over between years "
                  "or re-exports of the file; do not compare parcels across years by id")


def parcel_ids(df: pd.DataFrame, columns: tuple[str, ...], source: str) -> np.ndarray:
    """The id text of every row (``None`` where a part is missing).

    Raises:
        InvalidInput: a part of a composite id contains the separator (the join would be
            ambiguous).
    """
    if not columns:
        return np.arange(1, len(df) + 1).astype(str).astype(object)
    parts = [as_text(df[c]) for c in columns]
    if len(parts) == 1:
        return parts[0]
    frame = pd.DataFrame({str(i): p for i, p in enumerate(parts)}, dtype=object)
    for col, name in zip(frame.columns, columns, strict=True):
        bad = frame[col].dropna().astype(str).str.contains(ID_SEPARATOR, regex=False)
        if bad.any():
            example = frame[col].dropna()[bad].iloc[0]
            raise InvalidInput(f"{source}: composite id column {name!r} holds {example!r}, which contains "
                               f"the separator {ID_SEPARATOR!r}: the joined ids would be ambiguous")
    missing = frame.isna().any(axis=1).to_numpy()
    joined = frame.fillna("").astype(str).agg(ID_SEPARATOR.join, axis=1).to_numpy(dtype=object)
    joined[missing] = None
    return joined


def crop_values(df: pd.DataFrame, column: str | None) -> np.ndarray:
    """Crop code or name text per row; all ``None`` when there is no such column."""
    if column is None:
        return np.full(len(df), None, dtype=object)
    text = as_text(df[column])
    if column.lower().endswith("_href"):
        s = pd.Series(text, dtype=object)
        last = s.dropna().astype(str).str.rstrip("/").str.rsplit("/", n=1).str[-1]
        no_value = (last == "") | last.str.fullmatch(r"[A-Za-z]+Value")  # the code list, not a value
        s[last.index] = last.where(~no_value, None)
        text = s.to_numpy(dtype=object)
    return text
