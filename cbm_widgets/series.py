"""Pure functions turning the API's long time series into plottable wide tables (no widgets here).

S2 observations carry the SCL histogram of the parcel; its share of valid classes is the
observation's *valid fraction*. Observations below :data:`MIN_VALID` are drawn as cloudy.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

# SCL classes that are not a clear view of the ground: no data, defective, shadow, clouds, cirrus, snow.
MASKED_SCL = frozenset({0, 1, 3, 8, 9, 10, 11})
MIN_VALID = 0.6
S2_BANDS = ("B02", "B03", "B04", "B05", "B08", "B11")
S1_BANDS = ("VVb", "VHb")
# name -> (label, axis) ; axis "left" = reflectance / index, "right" = S1 dB / coherence
SERIES: Mapping[str, tuple[str, str]] = {
    "NDVI": ("NDVI", "left"), "NDWI": ("NDWI", "left"), "B04": ("Red (B04)", "left"),
    "B08": ("NIR (B08)", "left"), "B11": ("SWIR (B11)", "left"),
    "VV": ("S1 VV (dB)", "right"), "VH": ("S1 VH (dB)", "right"), "COH_VV": ("Coherence VV", "coh"),
}
COLOURS: Mapping[str, str] = {
    "NDVI": "#2e7d32", "NDWI": "#1565c0", "B04": "#c62828", "B08": "#6a1b9a", "B11": "#ef6c00",
    "VV": "#546e7a", "VH": "#ad1457",  # VH apart from the brown bare-soil spans
    "COH_VV": "#00838f",
}


def valid_fraction(hist: Mapping[str, int] | None) -> float:
    """Share of the parcel's SCL pixels in clear classes (1.0 when no histogram is known)."""
    if not hist:
        return 1.0
    total = sum(int(n) for n in hist.values())
    clear = sum(int(n) for k, n in hist.items() if int(k) not in MASKED_SCL)
    return clear / total if total else 0.0


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    """Mean per date (rows) and band (columns), dates as naive UTC timestamps."""
    if frame.empty:
        return pd.DataFrame()
    wide = frame.pivot_table(index="date", columns="band", values="mean", aggfunc="first", dropna=False)
    wide.index = pd.DatetimeIndex(wide.index).tz_convert(None)
    return wide.sort_index()


def s2_table(frame: pd.DataFrame) -> pd.DataFrame:
    """S2 table by date: reflectances (0..1), NDVI, NDWI, ``valid`` fraction and ``cloudy`` flag."""
    wide = _wide(frame)
    if wide.empty:
        return pd.DataFrame(columns=["NDVI", "NDWI", "valid", "cloudy"])
    out = pd.DataFrame(index=wide.index)
    for band in S2_BANDS:
        out[band] = wide.get(band, np.nan) / 10_000.0
    out["NDVI"] = (out["B08"] - out["B04"]) / (out["B08"] + out["B04"])
    out["NDWI"] = (out["B03"] - out["B08"]) / (out["B03"] + out["B08"])
    hist = frame.drop_duplicates("date").set_index("date")["hist"] if "hist" in frame else None
    if hist is not None:
        hist.index = pd.DatetimeIndex(hist.index).tz_convert(None)
        out["valid"] = [valid_fraction(h if isinstance(h, dict) else None) for h in hist.reindex(out.index)]
    else:
        out["valid"] = 1.0
    out["cloudy"] = (out["valid"] < MIN_VALID) | out["NDVI"].isna()
    return out


def to_db(values: pd.Series) -> pd.Series:
    """Backscatter in dB: linear power is converted; values already in dB (≤ 0 or > 1) pass through."""
    v = values.astype(float)
    if v.dropna().empty or (v.dropna() <= 0).any() or (v.dropna() > 1.5).any():
        return v
    return 10.0 * np.log10(v)


def s1_table(frame: pd.DataFrame) -> pd.DataFrame:
    """S1 backscatter table by date: ``VV``, ``VH`` in dB."""
    wide = _wide(frame)
    out = pd.DataFrame(index=wide.index)
    for jrc, name in (("VVb", "VV"), ("VHb", "VH")):
        out[name] = to_db(wide[jrc]) if jrc in wide else np.nan
    return out


def coherence_table(frame: pd.DataFrame) -> pd.DataFrame:
    """S1 6-day coherence table by date: ``COH_VV``, ``COH_VH`` (0..1)."""
    wide = _wide(frame)
    out = pd.DataFrame(index=wide.index)
    for jrc, name in (("VVc", "COH_VV"), ("VHc", "COH_VH")):
        out[name] = wide.get(jrc, np.nan)
    return out


def nearest_date(dates: pd.DatetimeIndex, iso: str) -> pd.Timestamp | None:
    """The observation date closest to an ISO date (None when there are none)."""
    if len(dates) == 0 or not iso:
        return None
    target = pd.Timestamp(iso)
    return pd.Timestamp(dates[int(np.argmin(np.abs((dates - target).asi8)))])


def peer_band(tables: list[pd.DataFrame], column: str = "NDVI") -> pd.DataFrame:
    """Median and 10th-90th percentile band of one column over several parcels' clear observations."""
    series = [t.loc[~t["cloudy"], column].rename(i) for i, t in enumerate(tables) if not t.empty]
    if not series:
        return pd.DataFrame(columns=["p10", "p50", "p90", "n"])
    stack = pd.concat(series, axis=1).sort_index()
    return pd.DataFrame({"p10": stack.quantile(0.1, axis=1), "p50": stack.median(axis=1),
                         "p90": stack.quantile(0.9, axis=1), "n": stack.notna().sum(axis=1)})
