"""Turn the attribute columns of a parcel file into the values stored in ``parcels``.

Ids and crop codes become text (integral floats lose their ``.0``), blanks become null; every
other column goes into the ``attrs`` JSON object with JSON-safe values: dates and times as ISO
strings, numpy scalars as plain numbers, NaN as null. All vectorised (pandas ``to_json``).
"""

from __future__ import annotations

import datetime as dt
import decimal

import numpy as np
import pandas as pd


def as_text(values: pd.Series) -> np.ndarray:
    """Values as stripped ``str`` (object array), ``None`` for null or blank."""
    s = values
    if pd.api.types.is_float_dtype(s):
        finite = s.dropna()
        if bool(np.all(np.mod(finite.to_numpy(), 1) == 0)):
            s = s.astype("Int64")
    text = s.astype("string").str.strip()
    text = text.mask(text == "")
    return text.to_numpy(dtype=object, na_value=None)


def sort_order(values: pd.Series, text: np.ndarray) -> np.ndarray:
    """Positions that sort the rows by id: numerically when the source column is numeric."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        key = values.to_numpy(dtype=float, na_value=np.nan)
        return np.argsort(key, kind="stable")
    return np.argsort(text.astype(str), kind="stable")


def attrs_json(df: pd.DataFrame) -> np.ndarray:
    """One JSON object text per row of ``df`` (object array); ``"{}"`` when no columns."""
    if df.shape[1] == 0:
        return np.full(len(df), "{}", dtype=object)
    df = df.copy()
    for name in df.columns:
        col = df[name]
        if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col):
            df[name] = _iso_datetimes(col)
        elif col.dtype == object:
            df[name] = _plain_objects(col)
    lines = df.to_json(orient="records", lines=True, force_ascii=False,
                       double_precision=15, default_handler=str)
    out = np.array(lines.rstrip("\n").split("\n"), dtype=object)
    if len(out) != len(df):  # pragma: no cover - to_json escapes newlines in values
        raise RuntimeError("attribute JSON lines do not match the rows")
    return out


def _iso_datetimes(col: pd.Series) -> pd.Series:
    if col.dt.tz is not None:
        text = col.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    elif bool((col.dropna() == col.dropna().dt.normalize()).all()):
        text = col.dt.strftime("%Y-%m-%d")  # all at midnight: they are dates
    else:
        text = col.dt.strftime("%Y-%m-%dT%H:%M:%S")
    return text.astype(object).where(col.notna(), None)


def _plain_objects(col: pd.Series) -> pd.Series:
    kind = pd.api.types.infer_dtype(col, skipna=True)
    if kind in ("date", "datetime", "time", "decimal", "bytes", "mixed"):
        return col.map(_plain_value, na_action="ignore")
    return col


def _plain_value(value: object) -> object:
    if isinstance(value, dt.date | dt.time):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return value
