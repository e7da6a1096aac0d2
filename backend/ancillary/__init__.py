"""Ancillary data per parcel set: daily weather (grids and stations) and terrain."""

from backend.ancillary.weather import WeatherImport, import_weather

__all__ = ["WeatherImport", "import_weather"]
