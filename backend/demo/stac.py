"""Self-contained static STAC catalogue of the generated images."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import pystac
from pyproj import Transformer
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, RasterBand, RasterExtension
from pystac.extensions.sar import FrequencyBand, Polarization, SarExtension
from pystac.extensions.sat import OrbitState, SatExtension

from backend.demo.params import EPSG, MGRS_TILE, S1_RES, DemoParams, aoi_bounds, grid
from backend.demo.s1 import S1Image
from backend.demo.s2 import RESOLUTION, S2Image

COLLECTIONS = {
    "sentinel-2-l2a": "SYNTHETIC Sentinel-2 L2A surface reflectance (B02-B11 x 10000, SCL)",
    "sentinel-1-bs": "SYNTHETIC Sentinel-1 IW backscatter (calibrated, as from GRD), linear power (VV, VH)",
    "sentinel-1-coh6": "SYNTHETIC Sentinel-1 6-day interferometric coherence (COH_VV, COH_VH)",
}
COMMON_NAME = {"B02": ("blue", 0.49), "B03": ("green", 0.56), "B04": ("red", 0.665),
               "B05": ("rededge", 0.705), "B08": ("nir", 0.842), "B11": ("swir16", 1.61)}


def _footprint(params: DemoParams) -> tuple[dict[str, Any], list[float]]:
    """GeoJSON polygon and bbox of the AOI in WGS84 (7 decimals)."""
    minx, miny, maxx, maxy = aoi_bounds(params)
    corners = [(minx, maxy), (maxx, maxy), (maxx, miny), (minx, miny)]
    tr = Transformer.from_crs(EPSG, 4326, always_xy=True)
    lonlat = [[round(v, 7) for v in tr.transform(x, y)] for x, y in corners]
    ring = [*lonlat, lonlat[0]]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    return {"type": "Polygon", "coordinates": [ring]}, [min(xs), min(ys), max(xs), max(ys)]


def _asset(item: pystac.Item, key: str, href: str, res: float, params: DemoParams,
           dtype: DataType, nodata: float, **raster: Any) -> pystac.Asset:
    """Add a COG asset with projection and raster metadata to ``item``."""
    g = grid(params, res)
    asset = pystac.Asset(href, title=key, media_type=pystac.MediaType.COG, roles=["data"])
    item.add_asset(key, asset)
    proj = ProjectionExtension.ext(asset, add_if_missing=True)
    proj.epsg, proj.shape, proj.transform = EPSG, [g.height, g.width], list(g.transform)[:6]
    RasterExtension.ext(asset, add_if_missing=True).bands = [
        RasterBand.create(nodata=nodata, data_type=dtype, spatial_resolution=res, **raster)
    ]
    return asset


def _item(item_id: str, when: datetime, params: DemoParams, props: dict[str, Any]) -> pystac.Item:
    geom, bbox = _footprint(params)
    props = {"cbm:synthetic": True, "cbm:seed": params.seed, **props}
    item = pystac.Item(item_id, geom, bbox, when, props)
    ProjectionExtension.ext(item, add_if_missing=True).epsg = EPSG
    return item


def s2_item(img: S2Image, root: Path, params: DemoParams) -> pystac.Item:
    """STAC item of one Sentinel-2 date (assets B02 B03 B04 B05 B08 B11 SCL)."""
    a = img.acq
    item = _item(a.item_id, a.when, params, {
        "platform": a.platform, "constellation": "sentinel-2", "instruments": ["msi"],
        "s2:mgrs_tile": MGRS_TILE,
    })
    EOExtension.ext(item, add_if_missing=True).cloud_cover = img.cloud_cover
    SatExtension.ext(item, add_if_missing=True).relative_orbit = a.orbit
    for key, rel in img.files.items():
        res = float(RESOLUTION[key])
        if key == "SCL":
            asset = _asset(item, key, str(root / rel), res, params, DataType.UINT8, 0)
            asset.roles = ["data", "classification"]
            continue
        asset = _asset(item, key, str(root / rel), res, params, DataType.UINT16, 0,
                       scale=0.0001, offset=0.0)
        common, wavelength = COMMON_NAME[key]
        EOExtension.ext(asset, add_if_missing=True).bands = [
            Band.create(name=key, common_name=common, center_wavelength=wavelength)
        ]
    return item


def _s1_props(img: S1Image) -> dict[str, Any]:
    return {"platform": img.acq.platform, "constellation": "sentinel-1", "instruments": ["c-sar"]}


def _sar(item: pystac.Item, img: S1Image, product: str) -> None:
    SarExtension.ext(item, add_if_missing=True).apply(
        instrument_mode="IW", frequency_band=FrequencyBand.C, product_type=product,
        polarizations=[Polarization.VV, Polarization.VH], center_frequency=5.405,
    )
    SatExtension.ext(item, add_if_missing=True).apply(
        orbit_state=OrbitState(img.acq.direction), relative_orbit=img.acq.orbit
    )


def s1_items(img: S1Image, root: Path, params: DemoParams) -> tuple[pystac.Item, pystac.Item]:
    """(backscatter item, coherence item) of one Sentinel-1 date."""
    bs = _item(img.acq.item_id, img.acq.when, params, _s1_props(img))
    _sar(bs, img, "GRD")
    for key, rel in img.files.items():
        _asset(bs, key, str(root / rel), S1_RES, params, DataType.FLOAT32, 0, unit="linear power")
    coh = _item(img.coherence_id, img.acq.when, params, {
        **_s1_props(img), "start_datetime": pystac.utils.datetime_to_str(img.acq.previous),
        "end_datetime": pystac.utils.datetime_to_str(img.acq.when),
    })
    _sar(coh, img, "COH")
    for key, rel in img.coh_files.items():
        _asset(coh, key, str(root / rel), S1_RES, params, DataType.FLOAT32, 0)
    return bs, coh


def _collection(cid: str, items: Iterable[pystac.Item], params: DemoParams) -> pystac.Collection:
    items = sorted(items, key=lambda i: (i.datetime, i.id))
    _, bbox = _footprint(params)
    extent = pystac.Extent(
        pystac.SpatialExtent([bbox]),
        pystac.TemporalExtent([[items[0].datetime, items[-1].datetime]]),
    )
    col = pystac.Collection(cid, COLLECTIONS[cid], extent, license="CC-BY-4.0",
                            extra_fields={"cbm:synthetic": True})
    for item in items:
        col.add_item(item)
    return col


def write_stac(
    out_dir: Path, params: DemoParams, s2: list[S2Image], s1: list[S1Image]
) -> Path:
    """Write ``out_dir/stac/catalog.json`` with the three collections; return its path.

    Asset hrefs are relative to the item files, so the whole folder can be moved.
    """
    root = out_dir.resolve()
    cat = pystac.Catalog(
        "cbm-demo",
        f"SYNTHETIC imagery of the CbM demo area (generated by backend.demo, seed {params.seed})",
        title="CbM demo area (synthetic)",
    )
    pairs = [s1_items(img, root, params) for img in s1]
    cat.add_child(_collection("sentinel-2-l2a", (s2_item(i, root, params) for i in s2), params))
    cat.add_child(_collection("sentinel-1-bs", (p[0] for p in pairs), params))
    cat.add_child(_collection("sentinel-1-coh6", (p[1] for p in pairs), params))
    stac_dir = root / "stac"
    cat.normalize_hrefs(str(stac_dir))
    cat.make_all_asset_hrefs_relative()
    cat.save(pystac.CatalogType.SELF_CONTAINED)
    return stac_dir / "catalog.json"

