"""Ancillary data per parcel set: daily weather (grids and stations) and terrain."""

from backend.ancillary.terrain import TerrainImport, import_terrain
from backend.ancillary.weather import WeatherImport, import_weather

__all__ = ["TerrainImport", "WeatherImport", "import_terrain", "import_weather"]
