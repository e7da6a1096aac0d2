"""Plain value objects returned by the client (no widget code here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Parcel:
    """One parcel of a set, as the API describes it (geometry as a WGS84 GeoJSON dict)."""

    pid: str
    cropname: str | None
    cropcode: str | None
    area: float
    lon: float
    lat: float
    geometry: dict[str, Any] | None = None

    @classmethod
    def from_columns(cls, data: dict[str, list[Any]], i: int = 0) -> Parcel:
        """Row ``i`` of the JRC column-oriented parcel JSON."""
        geom = data.get("geom", [None] * (i + 1))[i]
        return cls(pid=str(data["pid"][i]), cropname=data.get("cropname", [None] * (i + 1))[i],
                   cropcode=data.get("cropcode", [None] * (i + 1))[i], area=float(data["area"][i] or 0),
                   lon=float(data["clon"][i]), lat=float(data["clat"][i]),
                   geometry=json.loads(geom) if isinstance(geom, str) else geom)

    def feature(self, **properties: Any) -> dict[str, Any]:
        """A GeoJSON feature of the parcel (``pid``, ``crop`` and extra properties)."""
        props = {"pid": self.pid, "crop": self.cropname or "", **properties}
        return {"type": "Feature", "id": self.pid, "properties": props, "geometry": self.geometry}


@dataclass(frozen=True)
class Chip:
    """One image chip: date, PNG URL, cloud and no-data fractions (0..1) when the API gives them."""

    date: date
    url: str
    cloud: float | None = None
    nodata: float | None = None

    @property
    def cloud_text(self) -> str:
        """``40 % cloud``, ``no data``, ``0 % cloud, 38 % no data``, or ``cloud n/a`` (S1)."""
        if self.nodata is not None and self.nodata >= 1:
            return "no data"
        text = "cloud n/a" if self.cloud is None else f"{self.cloud:.0%} cloud"
        return f"{text}, {self.nodata:.0%} no data" if self.nodata else text


@dataclass(frozen=True)
class Peer:
    """A same-crop parcel near another one."""

    pid: str
    distance: float


@dataclass(frozen=True)
class DecisionPage:
    """One page of parcels with their decisions, and the counts per colour and condition."""

    rows: list[dict[str, Any]]
    total: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
