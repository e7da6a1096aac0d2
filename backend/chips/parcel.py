"""Chips of one parcel: centred on it, sized to it (with a minimum context), outlined, over a season.

A parcel's chips are drawn around the centre of its bounding box, over a square ground extent
of ``margin`` times its longer side but at least ``min_extent_m`` (so that a 1 ha parcel is
more than a few pixels and a large one still fits), with its outline drawn. Each chip carries
the cloud share of the parcel's own pixels (SCL) and the share of its pixels without data, so
that a half-empty or fully cloudy view never reads as clear. Over a long range (a season) at
most ``slots`` chips are returned: the clearest image of each equal time slot.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyproj
import shapely
import shapely.geometry
from rasterio.features import rasterize
from rasterio.transform import from_bounds
from rasterio.warp import transform_geom

from backend.catalogue.assets import band_hrefs
from backend.catalogue.filters import DateLike
from backend.chips import render
from backend.chips.cache import cache_key, cached, relative
from backend.chips.grid import BandGrid
from backend.chips.service import Chip, ChipFile, OnError, _log_error, check_size, date_range
from backend.chips.spec import ChipSpec
from backend.db import queries_chips as q
from backend.errors import CbmError, InvalidInput, LimitExceeded
from backend.settings import Settings

MIN_EXTENT_M = 300.0
"""Smallest ground side of a parcel chip: 30 pixels of 10 m around even the smallest parcel."""
MARGIN = 1.5
"""Ground side of a parcel chip as a multiple of the parcel's longer side."""
MAX_CANDIDATES = 1000


@dataclass(frozen=True)
class ParcelFrame:
    """Where a parcel's chips lie: centre (WGS84), ground side in metres, outline (WGS84 GeoJSON)."""

    lon: float
    lat: float
    extent_m: float
    geometry: Mapping[str, Any]

    @classmethod
    def of(cls, geometry: Mapping[str, Any], *, min_extent_m: float = MIN_EXTENT_M,
           margin: float = MARGIN) -> ParcelFrame:
        """The frame of a WGS84 GeoJSON polygon: its bounding box centre, sized to its longer side.

        Raises:
            InvalidInput: empty geometry.
        """
        shape = shapely.geometry.shape(geometry)
        if shape.is_empty:
            raise InvalidInput("the parcel has an empty geometry: no chip can be centred on it")
        c = shape.centroid
        local = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +units=m +ellps=WGS84")
        to_local = pyproj.Transformer.from_crs("EPSG:4326", local, always_xy=True)
        minx, miny, maxx, maxy = shapely.transform(
            shape, lambda xy: np.column_stack(to_local.transform(xy[:, 0], xy[:, 1]))).bounds
        lon, lat = to_local.transform((minx + maxx) / 2, (miny + maxy) / 2, direction="INVERSE")
        extent = max(min_extent_m, margin * max(maxx - minx, maxy - miny))
        return cls(float(lon), float(lat), round(float(extent), 1), geometry)

    def spec(self, size: int, style: str, lut: str | None = None) -> ChipSpec:
        """The chip spec of this frame (``size`` pixels on a side)."""
        return ChipSpec(self.lon, self.lat, size, style=style, lut=lut, extent_m=self.extent_m)


@dataclass(frozen=True)
class Shares:
    """What a chip shows of the parcel: cloud share of its pixels with data, share without data."""

    cloud: float | None
    nodata: float

    def rank(self) -> tuple[float, float]:
        """Sort key: clearer views first (no data counts as cloud)."""
        return (self.nodata, self.cloud if self.cloud is not None else 0.0)


def parcel_shares(settings: Settings, image: Mapping[str, Any], geometry: Mapping[str, Any]) -> Shares | None:
    """Cloud and no-data shares of the parcel's SCL pixels (pixel-centre rule); None without SCL (S1).

    SCL classes in ``scl_mask_classes`` (but 0) count as cloud; class 0 and pixels outside the
    image count as no data. A parcel smaller than one SCL pixel takes the pixels it touches.
    """
    if "SCL" not in band_hrefs(image):
        return None
    classes = sorted(set(settings.scl_mask_classes) - {0})
    href = render.hrefs_for(image, ("SCL",))["SCL"]
    grid = render.grid_of(settings, image, "SCL", href)
    shape = json.dumps(geometry, sort_keys=True)
    key = cache_key("parcel-cloud", image["id"], image["item_hash"], classes, shape)

    def produce() -> bytes:
        with render.gdal_env(settings):
            return json.dumps(_shares(href, grid, geometry, classes)).encode()

    value = json.loads(cached(settings, key, ".json", produce).read_bytes())
    return Shares(value["cloud"], value["nodata"])


def _shares(href: str, grid: BandGrid, geometry: Mapping[str, Any], classes: list[int]) -> dict[str, Any]:
    geom = shapely.geometry.shape(transform_geom("EPSG:4326", grid.crs, dict(geometry)))
    width, height, snapped = grid.covering(geom.bounds)
    width, height = max(width, 1), max(height, 1)
    transform = from_bounds(*snapped, width, height)
    inside = rasterize([geom], out_shape=(height, width), transform=transform, fill=0, default_value=1,
                       dtype="uint8").astype(bool)
    if not inside.any():
        inside = rasterize([geom], out_shape=(height, width), transform=transform, fill=0, default_value=1,
                           dtype="uint8", all_touched=True).astype(bool)
    scl = render.read_part(href, grid.crs, snapped, width, height).array[0]
    valid = ~np.ma.getmaskarray(scl) & (np.ma.getdata(scl) != 0)
    total, seen = int(inside.sum()), int((inside & valid).sum())
    cloudy = int((inside & valid & np.isin(np.ma.getdata(scl), classes)).sum())
    return {"cloud": round(cloudy / seen, 4) if seen else None,
            "nodata": round(1 - seen / total, 4) if total else 1.0}


def parcel_png_chips(
    settings: Settings, conn: q.Conn, frame: ParcelFrame, start: DateLike, end: DateLike, *,
    style: str = "truecolor", size: int = 128, lut: str | None = None, slots: int | None = None,
    max_cloud: float | None = None, on_error: OnError | None = None,
) -> list[Chip]:
    """Outlined PNG chips of a parcel, oldest first: every image, or the clearest of each time slot.

    Args:
        settings: backend settings.
        conn: database connection (catalogue).
        frame: the parcel's frame (:meth:`ParcelFrame.of`).
        start: first date (inclusive).
        end: last date (inclusive).
        style: chip style (see :class:`ChipSpec`).
        size: chip side in pixels.
        lut: stretch.
        slots: at most this many chips (default and limit ``api_max_chips``): when more images
            match, the range is cut into ``slots`` equal slots and each slot's clearest view of
            the parcel is kept (S1: the image nearest the slot's middle); the candidates are the
            least cloudy scenes of ``2 x slots`` slots, so that only they are read.
        max_cloud: maximum scene cloud cover (percent).
        on_error: called with (image row, error) for an image that cannot be rendered; it is skipped.
    """
    spec = frame.spec(size, style, lut)
    check_size(settings, size)
    slots = settings.api_max_chips if slots is None else slots
    if not 1 <= slots <= settings.api_max_chips:
        raise LimitExceeded(f"slots must be within 1..{settings.api_max_chips} (CBM_API_MAX_CHIPS), "
                            f"got {slots}")
    first, last = date_range(settings, start, end)
    rows: Sequence[Mapping[str, Any]] = q.images_at(
        conn, frame.lon, frame.lat, first, last, kinds=[spec.kind], max_cloud=max_cloud, limit=MAX_CANDIDATES)
    report = on_error or _log_error
    if len(rows) > slots:  # the scene cloud cover picks the candidates, the parcel's own pixels decide
        rows = clearest_per_slot(rows, {}, first, last, 2 * slots)
    shares = _shares_of(settings, rows, frame, report)
    readable = [r for r in rows if r["id"] in shares]
    chosen = readable if len(readable) <= slots else clearest_per_slot(readable, shares, first, last, slots)
    chips = []
    for row in chosen:
        try:
            path = render.chip_png_file(settings, row, spec, outline=frame.geometry)
        except CbmError as exc:
            report(row, exc)
            continue
        share = shares[row["id"]]
        file = ChipFile(relative(settings, path), f"{row['item_id']}.{spec.style}.png", "image/png")
        chips.append(Chip(row["id"], row["item_id"], row["datetime"], file,
                          cloud_fraction=share.cloud if share else None,
                          nodata_fraction=share.nodata if share else None))
    return chips


def _shares_of(settings: Settings, rows: Sequence[Mapping[str, Any]], frame: ParcelFrame,
               report: OnError) -> dict[int, Shares | None]:
    """The parcel's shares per readable image (an unreadable SCL is reported and its image left out)."""
    shares: dict[int, Shares | None] = {}
    for row in rows:
        try:
            shares[row["id"]] = parcel_shares(settings, row, frame.geometry)
        except CbmError as exc:
            report(row, exc)
    return shares


def clearest_per_slot(rows: Sequence[Mapping[str, Any]], shares: Mapping[int, Shares | None],
                      first: dt.datetime, last: dt.datetime, slots: int) -> list[Mapping[str, Any]]:
    """The clearest image of each of ``slots`` equal slots of ``[first, last]`` (ties: nearest the middle)."""
    span = max((last - first).total_seconds(), 1.0)
    best: dict[int, tuple[tuple[float, float, float], Mapping[str, Any]]] = {}
    for row in rows:
        where = (row["datetime"] - first).total_seconds() / span
        slot = min(int(where * slots), slots - 1)
        share = shares.get(row["id"])
        scene = float(row.get("cloud_cover") or 0.0) / 100  # without the parcel's shares
        key = (*(share.rank() if share else (0.0, scene)), abs(where * slots - slot - 0.5))
        if slot not in best or key < best[slot][0]:
            best[slot] = (key, row)
    return [best[s][1] for s in sorted(best)]
