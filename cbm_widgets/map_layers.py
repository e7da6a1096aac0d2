"""Layers, styles and small geometry helpers of :class:`cbm_widgets.ParcelMap` (no API calls here)."""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable
from typing import Any

import ipyleaflet as L

SELECTED = "#00b8d4"  # cyan: apart from the traffic light and the peers
PEER = "#5c6bc0"
PARCEL = "#37474f"
DECISION_COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
NO_DECISION = "#90a4ae"
PHOTO = "#6a1b9a"  # purple: geotagged photos and their direction wedges
PHOTO_FAILED = "#e65100"  # a photo with a failed check
LEGEND = {"selected parcel": SELECTED, "peers (same crop)": PEER, "other parcels": PARCEL,
          "photo (wedge: direction)": PHOTO}
DECISION_LEGEND = {"red: fails a condition": DECISION_COLOURS["red"],
                   "yellow: inconclusive": DECISION_COLOURS["yellow"],
                   "green: all conditions met": DECISION_COLOURS["green"],
                   "no decision": NO_DECISION, "selected parcel": SELECTED}
MAX_VIEW_KM2 = 20.0  # below the API's default polygon limit (25 km²)
PARCEL_STYLE = {"color": PARCEL, "weight": 1, "fillColor": PARCEL, "fillOpacity": 0.05, "opacity": 0.8}
_COORDS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,; ]\s*(-?\d+(?:\.\d+)?)\s*$")


def empty_collection() -> dict[str, Any]:
    """An empty GeoJSON feature collection."""
    return {"type": "FeatureCollection", "features": []}


def collection(features: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A GeoJSON feature collection of features that have a geometry."""
    return {"type": "FeatureCollection", "features": [f for f in features if f.get("geometry")]}


def parcels_layer() -> L.GeoJSON:
    """All parcels in view: thin outlines, highlighted on hover."""
    return L.GeoJSON(data=empty_collection(), name="Parcels", style=PARCEL_STYLE,
                     hover_style={"weight": 3, "fillOpacity": 0.2, "color": "#000000"})


def peers_layer() -> L.GeoJSON:
    """Same-crop peers of the selected parcel, dimmed."""
    return L.GeoJSON(data=empty_collection(), name="Peers",
                     style={"color": PEER, "weight": 1.5, "dashArray": "4 3", "fillColor": PEER,
                            "fillOpacity": 0.15, "opacity": 0.6},
                     hover_style={"fillOpacity": 0.3})


def selected_layer() -> L.GeoJSON:
    """The selected parcel: a strong outline over the image overlay."""
    return L.GeoJSON(data=empty_collection(), name="Selected parcel",
                     style={"color": SELECTED, "weight": 3, "fillOpacity": 0.0, "opacity": 1.0})


def overlay_layer() -> L.ImageOverlay:
    """The image chip of the selected date (set later)."""
    return L.ImageOverlay(url="", bounds=((0, 0), (0, 0)), name="Image of the selected date", opacity=0.9)


def photo_features(photos: Iterable[dict[str, Any]], *, radius_m: float = 25.0,
                   half_angle: float = 20.0) -> list[dict[str, Any]]:
    """A point per photo with a position and a wedge (circle sector) toward its bearing when known.

    The wedge opens ``half_angle`` degrees either side of the bearing (clockwise from north) over
    ``radius_m`` metres; properties ``photo`` (id), ``kind`` (``point``/``wedge``), ``failed``.
    """
    features = []
    for p in photos:
        if p.get("lon") is None or p.get("lat") is None:
            continue
        lon, lat = float(p["lon"]), float(p["lat"])
        props = {"photo": p["id"], "failed": bool(p.get("failed")), "label": f"Photo {p['id']}"}
        features.append({"type": "Feature", "properties": {**props, "kind": "point"},
                         "geometry": {"type": "Point", "coordinates": [lon, lat]}})
        if p.get("bearing") is None:
            continue
        k = 111_320.0 * max(math.cos(math.radians(lat)), 1e-6)
        arc = [float(p["bearing"]) - half_angle + i * half_angle / 4 for i in range(9)]
        edge = [[lon + radius_m * math.sin(math.radians(a)) / k,
                 lat + radius_m * math.cos(math.radians(a)) / 111_320.0] for a in arc]
        ring = [[lon, lat], *edge, [lon, lat]]
        features.append({"type": "Feature", "properties": {**props, "kind": "wedge"},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return features


def photo_style(feature: dict[str, Any]) -> dict[str, Any]:
    """Photo points (filled dots) and wedges (light sectors); orange when a check failed."""
    props = feature.get("properties", {})
    colour = PHOTO_FAILED if props.get("failed") else PHOTO
    if props.get("kind") == "wedge":
        return {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.25, "opacity": 0.8}
    return {"color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 1.0, "radius": 6}


def photos_layer() -> L.GeoJSON:
    """Geotagged photos of the selected parcel: points with direction wedges."""
    return L.GeoJSON(data=empty_collection(), name="Photos", style={}, style_callback=photo_style,
                     point_style={"radius": 6}, hover_style={"fillOpacity": 0.5})


def decision_style(feature: dict[str, Any]) -> dict[str, Any]:
    """Style of a parcel filled with its worst decision colour (``colour`` property; none: grey)."""
    colour = DECISION_COLOURS.get(feature.get("properties", {}).get("colour", ""), NO_DECISION)
    return {"color": colour, "weight": 1, "fillColor": colour, "fillOpacity": 0.55, "opacity": 0.9}


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """``"52.49, 5.61"`` (lat, lon) -> ``(lon, lat)``; None if the text is not a coordinate pair."""
    match = _COORDS.match(text)
    if not match:
        return None
    lat, lon = float(match.group(1)), float(match.group(2))
    if abs(lat) > 90 or abs(lon) > 180:
        return None
    return lon, lat


def chip_bounds(lon: float, lat: float, size_px: int, res_m: float = 10.0) -> tuple[tuple[float, float], ...]:
    """Approximate WGS84 bounds ((south, west), (north, east)) of a square chip centred on a point."""
    half = size_px * res_m / 2.0
    dlat = half / 111_320.0
    dlon = half / (111_320.0 * max(math.cos(math.radians(lat)), 1e-6))
    return (lat - dlat, lon - dlon), (lat + dlat, lon + dlon)


def bbox_area_km2(south: float, west: float, north: float, east: float) -> float:
    """Approximate area of a WGS84 box in km²."""
    height = (north - south) * 111.32
    width = (east - west) * 111.32 * math.cos(math.radians((north + south) / 2.0))
    return abs(height * width)


def geometry_bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """``(west, south, east, north)`` of a GeoJSON (Multi)Polygon."""
    rings = geometry["coordinates"] if geometry["type"] == "Polygon" else [
        ring for poly in geometry["coordinates"] for ring in poly]
    xs = [p[0] for ring in rings for p in ring]
    ys = [p[1] for ring in rings for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def data_url(png: bytes) -> str:
    """A ``data:`` URL of PNG bytes (the browser never calls the API itself)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
