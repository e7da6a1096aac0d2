"""Weather variables: names recognised in agencies' files and one stored unit per variable.

Stored units (documented in the README):

=================  ==========  ==========================================================
variable           unit        recognised file units
=================  ==========  ==========================================================
precipitation      mm/day      mm, mm/day, mm d-1, kg m-2, kg m-2 d-1 (x1); m (x1000);
                               kg m-2 s-1, mm s-1 (x86400)
tmean, tmin, tmax  °C          degC, °C, C, celsius, degrees_Celsius; K, kelvin (-273.15)
other temperature  °C          as above (e.g. dewpoint)
radiation          kJ/m²/day   J m-2 (d-1) (/1000), kJ m-2 (d-1), MJ m-2 (d-1) (x1000)
wind speed         m/s         m s-1, m/s; km/h (/3.6)
vapour pressure    hPa         hPa, mbar; kPa (x10); Pa (/100)
humidity, cover    %           %, percent; 1, fraction (x100)
=================  ==========  ==========================================================

A unit outside the table is refused (never stored as it is).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.errors import InvalidInput

# canonical name -> names in AgERA5, ERA5-Land and common files (lower case)
_NAMES = {
    "precipitation": ("precipitation", "precipitation_flux", "precip", "prec", "pr", "tp", "rain",
                      "rainfall", "total_precipitation"),
    "tmean": ("tmean", "tavg", "tas", "t2m", "temperature", "temperature_air_2m_mean_24h",
              "2m_temperature", "mean_temperature", "temperature_mean"),
    "tmin": ("tmin", "tasmin", "mn2t", "temperature_air_2m_min_24h", "min_temperature",
             "temperature_min"),
    "tmax": ("tmax", "tasmax", "mx2t", "temperature_air_2m_max_24h", "max_temperature",
             "temperature_max"),
}
_BY_NAME = {alias: name for name, aliases in _NAMES.items() for alias in aliases}


@dataclass(frozen=True)
class Unit:
    """A recognised file unit: stored = value * scale + offset, in ``stored``."""

    stored: str
    scale: float = 1.0
    offset: float = 0.0


_UNITS: dict[str, Unit] = {}


def _add(stored: str, scale: float, offset: float, *names: str) -> None:
    for name in names:
        _UNITS[name] = Unit(stored, scale, offset)


_add("mm/day", 1.0, 0.0, "mm", "mm/day", "mm/d", "mmd-1", "mmday-1", "kgm-2", "kgm-2d-1",
     "kgm-2day-1", "mmperday")
_add("mm/day", 1000.0, 0.0, "m", "m/day", "md-1", "mday-1")
_add("mm/day", 86400.0, 0.0, "kgm-2s-1", "mms-1", "mm/s")
_add("°C", 1.0, 0.0, "degc", "°c", "c", "celsius", "degrees_celsius", "degree_celsius", "deg_c")
_add("°C", 1.0, -273.15, "k", "kelvin", "degk", "degrees_kelvin")
_add("kJ/m²/day", 0.001, 0.0, "jm-2", "jm-2d-1", "jm-2day-1")
_add("kJ/m²/day", 1.0, 0.0, "kjm-2", "kjm-2d-1", "kjm-2day-1")
_add("kJ/m²/day", 1000.0, 0.0, "mjm-2", "mjm-2d-1", "mjm-2day-1")
_add("m/s", 1.0, 0.0, "ms-1", "m/s")
_add("m/s", 1 / 3.6, 0.0, "km/h", "kmh-1")
_add("hPa", 1.0, 0.0, "hpa", "mbar", "mb")
_add("hPa", 10.0, 0.0, "kpa")
_add("hPa", 0.01, 0.0, "pa")
_add("%", 1.0, 0.0, "%", "percent")
_add("%", 100.0, 0.0, "1", "fraction", "0-1")

_TEMPERATURE = ("tmean", "tmin", "tmax")


def canonical_name(name: str) -> str:
    """The stored name of a file variable (``Temperature_Air_2m_Max_24h`` -> ``tmax``)."""
    key = name.strip().lower()
    return _BY_NAME.get(key, re.sub(r"[^a-z0-9_]+", "_", key).strip("_"))


def parse_unit(variable: str, text: str | None) -> Unit:
    """The conversion of a variable's file unit to its stored unit.

    Raises:
        InvalidInput: no unit, a unit outside the table, or one that does not fit the variable
            (a temperature in mm).
    """
    if not text or not str(text).strip():
        raise InvalidInput(f"variable {variable}: no units attribute: give its units "
                           "(e.g. 'mm', 'K', 'degC')")
    key = re.sub(r"[\s*.^]+", "", str(text).strip().lower()).replace("**", "")
    unit = _UNITS.get(key)
    if unit is None:
        raise InvalidInput(f"variable {variable}: units {text!r} not recognised (known: mm, mm/day, "
                           "m, kg m-2 s-1, K, degC, J m-2, m s-1, hPa, kPa, %, ...)")
    name = canonical_name(variable)
    if (name == "precipitation" and unit.stored != "mm/day") or \
            (name in _TEMPERATURE and unit.stored != "°C"):
        raise InvalidInput(f"variable {variable}: units {text!r} are not a "
                           f"{'precipitation' if name == 'precipitation' else 'temperature'}")
    return unit
