"""Chips library: real COGs, real catalogue, real database, moto S3; expected pixels from numpy."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
from chips_scene import S1_DATE, S2_DATE, S2_ITEM, X0, Y0, catalogue, lonlat, make_scene
from rasterio.io import MemoryFile
from rasterio.transform import from_origin
from rio_tiler.colormap import cmap

from backend import storage
from backend.chips import (
    ChipSpec,
    InvalidToken,
    Stretch,
    background,
    cloud_fraction,
    png_chips,
    raw_chips,
    render_geotiff,
    render_png,
    sign,
    verify,
)
from backend.chips.service import date_range
from backend.chips.sources import UnknownSource
from backend.db import connect
from backend.errors import InvalidInput, LimitExceeded
from backend.extraction.timeseries import DateRange
from backend.settings import Settings

S1_ITEM = f"S1A_IW_GRDH_{S1_DATE}_DEMO"


def s3_settings(settings: Settings, endpoint: str) -> Settings:
    """Settings reading ``s3://`` hrefs from the moto endpoint (as conftest's helper)."""
    return Settings(**{**settings.model_dump(), "s3_endpoint": endpoint, "s3_https": False,
                       "s3_access_key_id": "test", "s3_secret_access_key": "test"})


@pytest.fixture()
def chip_settings(clean_db: Settings, tmp_path: Path) -> Settings:
    """Test settings with a private chip cache."""
    return Settings(**{**clean_db.model_dump(), "var_dir": tmp_path / "var"})


@pytest.fixture()
def scene(tmp_path: Path) -> dict:
    return make_scene(tmp_path)


@pytest.fixture()
def images(chip_settings: Settings, scene: dict) -> dict[str, dict]:
    return catalogue(chip_settings, scene)


@pytest.fixture()
def opens(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Records every raster open (all IO goes through storage.open_raster)."""
    seen: list[str] = []
    real = storage.open_raster

    def counting(href: str):
        seen.append(href)
        return real(href)

    monkeypatch.setattr(storage, "open_raster", counting)
    yield seen


def decode(data: bytes) -> np.ndarray:
    with MemoryFile(data) as mem, mem.open() as ds:
        assert ds.driver in ("PNG", "GTiff")
        return ds.read()


# 16 x 16 chip centred on 10 m pixel (col 20, row 30): window cols 12..28, rows 22..38
COL, ROW, SIZE = 20, 30, 16
C0, R0 = COL - SIZE // 2, ROW - SIZE // 2


def spec(**kw) -> ChipSpec:
    lon, lat = lonlat(COL + 0.5, ROW + 0.5)
    return ChipSpec(lon, lat, **{"size": SIZE, **kw})


def test_png_is_valid_and_truecolor_follows_explicit_stretch(chip_settings, scene, images) -> None:
    png = render_png(chip_settings, images[S2_ITEM], spec(style="truecolor", lut="minmax:0_3000"))
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    rgba = decode(png)
    assert rgba.shape == (4, SIZE, SIZE)  # RGB + alpha
    for i, band in enumerate(("B04", "B03", "B02")):
        src = scene["s2"][band][R0:R0 + SIZE, C0:C0 + SIZE].astype(float)
        np.testing.assert_array_equal(rgba[i], (np.clip(src, 0, 3000) / 3000 * 255).astype(np.uint8))
    assert (rgba[3] == 255).all()


def test_percentile_stretch_and_jrc_triple(chip_settings, scene, images) -> None:
    rgba = decode(render_png(chip_settings, images[S2_ITEM], spec(style="B08_B04_B03", lut="5_95")))
    src = scene["s2"]["B08"][R0:R0 + SIZE, C0:C0 + SIZE].astype(float)
    lo, hi = np.percentile(src, [5, 95])
    np.testing.assert_array_equal(rgba[0], ((np.clip(src, lo, hi) - lo) / (hi - lo) * 255).astype(np.uint8))


def test_ndvi_uses_the_colour_map(chip_settings, scene, images) -> None:
    rgba = decode(render_png(chip_settings, images[S2_ITEM], spec(style="ndvi", lut="minmax:-1_1")))
    nir = scene["s2"]["B08"][R0:R0 + SIZE, C0:C0 + SIZE].astype(float)
    red = scene["s2"]["B04"][R0:R0 + SIZE, C0:C0 + SIZE].astype(float)
    index = ((np.clip((nir - red) / (nir + red), -1, 1) + 1) / 2 * 255).astype(np.uint8)
    table = np.array([cmap.get("rdylgn")[i][:3] for i in range(256)], np.uint8)
    np.testing.assert_array_equal(np.moveaxis(rgba[:3], 0, -1), table[index])


def test_s1_band_in_db(chip_settings, scene, images) -> None:
    grey = decode(render_png(chip_settings, images[S1_ITEM], spec(style="VV")))
    db = 10 * np.log10(scene["s1"]["VV"][R0:R0 + SIZE, C0:C0 + SIZE].astype(float))
    np.testing.assert_array_equal(grey[0], ((np.clip(db, -25, 0) + 25) / 25 * 255).astype(np.uint8))


def test_geotiff_chip_is_the_source_window(chip_settings, scene, images) -> None:
    data = render_geotiff(chip_settings, images[S2_ITEM], "B04", spec(style="B04"))
    with MemoryFile(data) as mem, mem.open() as ds:
        assert ds.crs.to_epsg() == 32631 and ds.count == 1 and ds.dtypes[0] == "uint16" and ds.nodata == 0
        assert ds.transform == from_origin(X0 + C0 * 10, Y0 - R0 * 10, 10, 10)
        np.testing.assert_array_equal(ds.read(1), scene["s2"]["B04"][R0:R0 + SIZE, C0:C0 + SIZE])
    # a 20 m band covers the same ground with its own pixels
    with MemoryFile(render_geotiff(chip_settings, images[S2_ITEM], "B11", spec(style="B04"))) as mem, \
            mem.open() as ds:
        assert ds.res == (20, 20) and ds.shape == (SIZE // 2, SIZE // 2)
        assert ds.transform == from_origin(X0 + C0 * 10, Y0 - R0 * 10, 20, 20)
        np.testing.assert_array_equal(ds.read(1), scene["s2"]["B11"][R0 // 2:(R0 + SIZE) // 2,
                                                                      C0 // 2:(C0 + SIZE) // 2])


def test_cache_hit_returns_same_bytes_without_reading(chip_settings, images, opens) -> None:
    s = spec(style="falsecolor")
    first = render_png(chip_settings, images[S2_ITEM], s)
    assert len(opens) == 3
    opens.clear()
    assert render_png(chip_settings, images[S2_ITEM], s) == first
    # a location in the same pixel snaps to the same window: still a hit
    lon, lat = lonlat(COL + 0.9, ROW + 0.1)
    assert render_png(chip_settings, images[S2_ITEM], ChipSpec(lon, lat, SIZE, "falsecolor")) == first
    assert opens == []
    files = list((chip_settings.var_dir / "chips").rglob("*.png"))
    assert len(files) == 1 and not list((chip_settings.var_dir / "chips").rglob(".tmp-*"))


def test_cloud_fraction_from_scl(chip_settings, images) -> None:
    # chip on 10 m cols/rows 0..16: SCL 20 m pixels 0..8 all cloud (class 9)
    cloudy = ChipSpec(*lonlat(8.5, 8.5), size=16)
    assert cloud_fraction(chip_settings, images[S2_ITEM], cloudy) == 1.0
    # cols 8..24 x rows 8..24 -> 20 m 4..12: cloud on 4..8 x 4..8 = 16 of 64
    assert cloud_fraction(chip_settings, images[S2_ITEM], ChipSpec(*lonlat(16.5, 16.5), size=16)) == 0.25
    assert cloud_fraction(chip_settings, images[S1_ITEM], spec(style="VV")) is None


def test_png_chips_for_location_and_range(chip_settings, images) -> None:
    with connect(chip_settings) as conn:
        chips = png_chips(chip_settings, conn, spec(), "2025-06-01", "2025-06-30")
        assert [c.compact_date for c in chips] == [S2_DATE, "20250611T103031"]
        assert all(c.file.name.endswith(".B04_B03_B02.png") or c.file.name.endswith(".truecolor.png")
                   for c in chips)
        assert png_chips(chip_settings, conn, spec(), "2025-06-02", "2025-06-10") == []
        raw = raw_chips(chip_settings, conn, *lonlat(20.5, 30.5), "2025-06-01", "2025-06-05",
                        ["VV", "vh"], chipsize_m=80)
        assert [(c.compact_date, c.band) for c in raw] == [(S1_DATE, "VV"), (S1_DATE, "VH")]
        assert raw[0].file.name == f"{S1_ITEM}.VV.tif"
        outside = ChipSpec(10.0, 45.0, 16)
        assert png_chips(chip_settings, conn, outside, "2025-01-01", "2025-12-31") == []


@pytest.mark.parametrize(("kwargs", "error", "words"), [
    ({"size": 2000}, LimitExceeded, "CBM_API_MAX_CHIP_SIZE"),
    ({"end": "2027-06-01"}, LimitExceeded, "CBM_API_MAX_DATE_SPAN_DAYS"),
    ({"end": "2025-05-01"}, InvalidInput, "before"),
    ({"start": "yesterday"}, InvalidInput, "ISO"),
    ({"max_cloud": 150}, InvalidInput, "max_cloud"),
])
def test_bad_requests_are_refused(chip_settings, images, kwargs, error, words) -> None:
    s = spec(size=kwargs.pop("size", SIZE))
    args = {"start": "2025-06-01", "end": "2025-06-30", **kwargs}
    with connect(chip_settings) as conn, pytest.raises(error, match=words):
        png_chips(chip_settings, conn, s, args.pop("start"), args.pop("end"), **args)


@pytest.mark.parametrize(("start", "end", "error", "message"), [
    ("2025-01-01", "2025-02-01", LimitExceeded,
     "date range of 32 days exceeds the limit CBM_API_MAX_DATE_SPAN_DAYS=31 days: ask for a shorter range"),
    ("2025-02-01", "2025-01-31", InvalidInput,
     "end_date 2025-01-31 is before start_date 2025-02-01: give an end_date on or after the start_date"),
])
def test_chips_and_time_series_share_the_date_span_check(settings, start, end, error, message) -> None:
    """One check, one message: a chip request and a time-series request with the same dates."""
    s = Settings(**{**settings.model_dump(), "api_max_date_span_days": 31})
    with pytest.raises(error) as chips:
        date_range(s, start, end)
    with pytest.raises(error) as series:
        DateRange.build(dt.date.fromisoformat(start), dt.date.fromisoformat(end), max_days=31)
    assert str(chips.value) == str(series.value) == message
    assert date_range(s, "2025-01-01", "2025-01-31")[1] < DateRange.build(
        dt.date(2025, 1, 1), dt.date(2025, 1, 31), max_days=31).end  # 31 days: allowed by both


def test_chip_count_limit(chip_settings, images) -> None:
    s = Settings(**{**chip_settings.model_dump(), "api_max_chips": 3})
    with connect(s) as conn, pytest.raises(LimitExceeded, match="CBM_API_MAX_CHIPS is 3"):
        raw_chips(s, conn, *lonlat(20.5, 30.5), "2025-06-01", "2025-06-30", ["B04", "B08"])


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"lon": 200}, "lon"), ({"lat": float("nan")}, "lat"), ({"size": 0}, "size"),
    ({"size": True}, "size"), ({"style": "B04_B08"}, "three bands"), ({"style": "B04_VV_B03"}, "kinds"),
    ({"style": "B99"}, "unknown band"), ({"lut": "5-95"}, "bad lut"), ({"lut": "-5_95"}, "0..100"),
    ({"lut": "minmax:3_1"}, "low < high"), ({"extent_m": -1.0}, "extent_m"),
])
def test_chip_spec_validates_itself(kwargs, words) -> None:
    args = {"lon": 5.0, "lat": 52.0, **kwargs}
    with pytest.raises(InvalidInput, match=words):
        ChipSpec(**args)


def test_stretch_parsing() -> None:
    assert Stretch.parse("2_98") == Stretch(2, 98)
    assert Stretch.parse("minmax:-25_0") == Stretch(-25, 0, percentile=False)
    assert str(ChipSpec(5, 52, style="ndvi").stretch) == "minmax:0_1"
    assert ChipSpec(5, 52, style="b8_b4_b3").bands == ("B08", "B04", "B03")
    assert ChipSpec(5, 52, style="COH_VV").bands == ("COH_VV",)


def test_signed_tokens(settings) -> None:
    token = sign(settings, "ab/abc.tif", 60, now=1000)
    assert verify(settings, token, now=1059) == ("ab/abc.tif", 1060)
    with pytest.raises(InvalidToken, match="expired"):
        verify(settings, token, now=1060)
    path, expiry, mac = token.split(".")
    forged = [f"{sign(settings, 'ab/other.tif', 60, now=1000).split('.')[0]}.{expiry}.{mac}",
              f"{path}.{int(expiry) + 3600}.{mac}", f"{path}.{expiry}.{mac[:-2]}AA", "garbage", "a.b.c",
              token + "x"]
    for bad in forged:
        with pytest.raises(InvalidToken):
            verify(settings, bad, now=1000)
    other = Settings(**{**settings.model_dump(), "secret_key": "another-secret-of-some-length"})
    with pytest.raises(InvalidToken):
        verify(other, token, now=1000)


def test_s3_chip_equals_local_chip(chip_settings, scene, images, moto_s3, tmp_path) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=f"http://{moto_s3}", aws_access_key_id="test",
                      aws_secret_access_key="test", region_name="us-east-1")
    s3.create_bucket(Bucket="chips")
    item = json.loads(json.dumps(images[S2_ITEM]["item"]))
    for asset in item["assets"].values():
        key = "s2/" + Path(asset["href"]).name
        s3.upload_file(asset["href"], "chips", key)
        asset["href"] = f"s3://chips/{key}"
    remote = {**images[S2_ITEM], "id": 999, "item": item}
    s = s3_settings(chip_settings, moto_s3)
    chip = spec(style="falsecolor")
    assert render_png(s, remote, chip) == render_png(chip_settings, images[S2_ITEM], chip)
    assert (render_geotiff(s, remote, "B11", chip) == render_geotiff(chip_settings, images[S2_ITEM], "B11",
                                                                      chip))


def test_raw_chip_size_is_metres_on_the_ground(chip_settings, images) -> None:
    with connect(chip_settings) as conn:
        raw = raw_chips(chip_settings, conn, *lonlat(20.5, 30.5), "2025-06-01", "2025-06-01",
                        ["B04", "B11"], chipsize_m=160)
        with pytest.raises(LimitExceeded, match="chipsize 20000 m exceeds the limit of 10240 m"):
            raw_chips(chip_settings, conn, *lonlat(20.5, 30.5), "2025-06-01", "2025-06-01", ["B04"],
                      chipsize_m=20_000)
    shapes = {}
    for chip in raw:
        with rasterio.open(chip_settings.var_dir / "chips" / chip.file.path) as ds:
            shapes[chip.band] = (ds.width, ds.height, ds.res)
    assert shapes == {"B04": (16, 16, (10.0, 10.0)), "B11": (8, 8, (20.0, 20.0))}  # 160 m both


def test_background_s2_source_is_the_least_cloudy_image(chip_settings, scene, images) -> None:
    lon, lat = lonlat(32, 32)
    file = background(chip_settings, lon, lat, 32, 200.0, "S2", "png")
    assert file is not None and file.name == "s2.png"
    data = (chip_settings.var_dir / "chips" / file.path).read_bytes()
    cloud_free = images["S2A_MSIL2A_20250611T103031_R008_T31UFU"]
    assert data == render_png(chip_settings, cloud_free, ChipSpec(lon, lat, 32, "truecolor", extent_m=200.0))
    tif = background(chip_settings, lon, lat, 32, 200.0, "s2", "tif")
    assert tif is not None and tif.name == "s2.tif"
    with rasterio.open(chip_settings.var_dir / "chips" / tif.path) as ds:
        assert ds.crs.to_epsg() == 32631 and ds.res == (6.25, 6.25)
    assert background(chip_settings, 10.0, 45.0, 32, 200.0, "s2", "png") is None
    with pytest.raises(LimitExceeded, match="CBM_CHIP_BACKGROUND_MAX_EXTENT_M"):
        background(chip_settings, lon, lat, 32, 1e6, "s2", "png")
    with pytest.raises(InvalidInput, match="iformat"):
        background(chip_settings, lon, lat, 32, 200.0, "s2", "gif")


def test_unconfigured_background_names_the_configured_sources(chip_settings, images) -> None:
    with pytest.raises(UnknownSource, match=r"'Google' is not a background source.*configured: s2"):
        background(chip_settings, *lonlat(32, 32), 32, 200.0, "Google", "tif")
    cache = chip_settings.var_dir / "chips"
    assert not cache.exists() or not [p for p in cache.rglob("*") if p.suffix in (".tif", ".png")]


@pytest.fixture()
def ortho(tmp_path: Path) -> Path:
    """An RGB orthophoto COG at 1 m over the scene: pixel (col, row) = (col % 256, row % 256, 77)."""
    cols, rows = np.meshgrid(np.arange(640), np.arange(640))
    rgb = np.stack([cols % 256, rows % 256, np.full_like(cols, 77)]).astype(np.uint8)
    path = tmp_path / "ortho" / "ortho.tif"
    path.parent.mkdir()
    with rasterio.open(path, "w", driver="COG", width=640, height=640, count=3, dtype="uint8",
                       crs="EPSG:32631", transform=from_origin(X0, Y0, 1.0, 1.0)) as ds:
        ds.write(rgb)
    return path


def test_background_from_a_local_orthophoto(chip_settings, ortho) -> None:
    s = Settings(**{**chip_settings.model_dump(), "chip_background_sources": {"Ortho": str(ortho)}})
    lon, lat = lonlat(20, 30)  # 10 m grid corner (200, 300) m from the origin: ortho pixel (200, 300)
    file = background(s, lon, lat, 64, 64.0, "ORTHO", "tif")
    assert file is not None and file.name == "ortho.tif"
    with rasterio.open(s.var_dir / "chips" / file.path) as ds:
        assert ds.crs.to_epsg() == 32631 and ds.res == (1.0, 1.0) and ds.count >= 3
        got = ds.read((1, 2, 3))
    cols, rows = np.meshgrid(np.arange(168, 232), np.arange(268, 332))
    np.testing.assert_array_equal(got[0], cols % 256)
    np.testing.assert_array_equal(got[1], rows % 256)
    assert (got[2] == 77).all()
    assert background(s, 10.0, 45.0, 64, 64.0, "ortho", "tif") is None  # outside the orthophoto
    relative = Settings(**{**chip_settings.model_dump(), "var_dir": ortho.parent.parent,
                           "chip_background_sources": {"o": "ortho/ortho.tif"}})
    assert background(relative, lon, lat, 8, 8.0, "o", "png") is not None  # relative to CBM_VAR_DIR


def test_background_from_an_orthophoto_vrt(chip_settings, ortho) -> None:
    """A VRT mosaic (here of one COG, written by hand as GDAL's XML) is a source like a COG."""
    bands = "".join(
        f'<VRTRasterBand dataType="Byte" band="{b}"><SimpleSource><SourceFilename relativeToVRT="1">'
        f"ortho.tif</SourceFilename><SourceBand>{b}</SourceBand><SrcRect xOff=\"0\" yOff=\"0\" "
        f'xSize="640" ySize="640"/><DstRect xOff="0" yOff="0" xSize="640" ySize="640"/></SimpleSource>'
        "</VRTRasterBand>" for b in (1, 2, 3))
    vrt = ortho.parent / "mosaic.vrt"
    vrt.write_text(f'<VRTDataset rasterXSize="640" rasterYSize="640"><SRS>EPSG:32631</SRS>'
                   f"<GeoTransform>{X0}, 1.0, 0.0, {Y0}, 0.0, -1.0</GeoTransform>{bands}</VRTDataset>")
    s = Settings(**{**chip_settings.model_dump(), "chip_background_sources": {"cog": str(ortho),
                                                                              "vrt": str(vrt)}})
    lon, lat = lonlat(20, 30)
    files = [background(s, lon, lat, 64, 64.0, name, "tif") for name in ("cog", "vrt")]
    assert files[0] is not None and files[1] is not None and files[1].name == "vrt.tif"
    with rasterio.open(s.var_dir / "chips" / files[0].path) as a, \
            rasterio.open(s.var_dir / "chips" / files[1].path) as b:
        np.testing.assert_array_equal(a.read(), b.read())
        assert a.crs == b.crs and a.transform == b.transform


def test_background_outline_is_drawn_in_yellow(chip_settings, ortho) -> None:
    from shapely.geometry import box, mapping
    from shapely.ops import transform as shp_transform

    s = Settings(**{**chip_settings.model_dump(), "chip_background_sources": {"ortho": str(ortho)}})
    lon, lat = lonlat(20, 30)
    to_wgs84 = pyproj.Transformer.from_crs(32631, 4326, always_xy=True).transform
    parcel = shp_transform(to_wgs84, box(X0 + 180, Y0 - 320, X0 + 220, Y0 - 280))  # 40 m square
    file = background(s, lon, lat, 64, 64.0, "ortho", "tif", outline=mapping(parcel))
    plain = background(s, lon, lat, 64, 64.0, "ortho", "tif")
    assert file is not None and plain is not None and file.path != plain.path
    with rasterio.open(s.var_dir / "chips" / file.path) as ds:
        drawn = ds.read((1, 2, 3))
    with rasterio.open(s.var_dir / "chips" / plain.path) as ds:
        clean = ds.read((1, 2, 3))
    yellow = (drawn[0] == 255) & (drawn[1] == 255) & (drawn[2] == 0)
    # the square's edges are 12 px in from the chip's sides (chip 168..232, square 180..220)
    assert yellow[12, 20:44].all() and yellow[20:44, 12].all() and yellow[51, 20:44].all()
    assert not yellow[20:44, 20:44].any() and not yellow[:8].any()
    np.testing.assert_array_equal(drawn[:, ~yellow], clean[:, ~yellow])


@pytest.fixture()
def tile_server() -> Iterator[tuple[str, list[str]]]:
    """An XYZ tile server on loopback: every tile is solid RGB (10, 200, 30); records requests."""
    import http.server

    with MemoryFile() as mem:
        with mem.open(driver="PNG", width=256, height=256, count=3, dtype="uint8") as ds:
            for i, v in enumerate((10, 200, 30), start=1):
                ds.write(np.full((256, 256), v, np.uint8), i)
        tile = bytes(mem.read())
    requested: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requested.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(tile)))
            self.end_headers()
            self.wfile.write(tile)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    import threading

    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png", requested
    finally:
        server.shutdown()


def test_background_from_configured_xyz_source(chip_settings, tile_server) -> None:
    template, requested = tile_server
    s = Settings(**{**chip_settings.model_dump(), "chip_background_sources": {"OSM": template}})
    lon, lat = lonlat(32, 32)
    file = background(s, lon, lat, 64, 500.0, "osm", "png")
    assert file is not None and file.name == "osm.png" and requested
    rgba = decode((s.var_dir / "chips" / file.path).read_bytes())
    assert rgba.shape == (4, 64, 64)
    assert (rgba[:3, 32, 32] == [10, 200, 30]).all() and (rgba[3] == 255).all()
    zooms = {int(p.split("/")[1]) for p in requested}
    assert zooms == {14}  # 500 m / 64 px at 51.4 N: 12.5 m Web Mercator pixels -> zoom 14 (9.6 m)
    tif = background(s, lon, lat, 64, 500.0, "OSM", "tif")
    assert tif is not None
    with rasterio.open(s.var_dir / "chips" / tif.path) as ds:
        assert ds.crs.to_epsg() == 3857 and ds.shape == (64, 64)


def test_unreadable_image_is_skipped_and_reported(chip_settings, scene, images) -> None:
    (scene["cogs"] / "S2A_MSIL2A_20250611T103031_R008_T31UFU" / "B03.tif").write_bytes(b"II*\x00garbage")
    errors: list[tuple[str, str]] = []
    with connect(chip_settings) as conn:
        chips = png_chips(chip_settings, conn, spec(), "2025-06-01", "2025-06-30",
                          on_error=lambda row, exc: errors.append((row["item_id"], str(exc))))
    assert [c.item_id for c in chips] == [S2_ITEM]
    assert len(errors) == 1 and "B03.tif" in errors[0][1]


def test_demo_orthophoto_is_a_source_only_in_demo_mode_once_built(settings, tmp_path) -> None:
    from backend.chips.sources import DEMO_SOURCE, configured, demo_orthophoto_path

    demo = Settings(**{**settings.model_dump(), "var_dir": tmp_path, "demo_mode": True})
    assert set(configured(demo)) == {"s2"}  # not built yet: not offered
    demo_orthophoto_path(demo).parent.mkdir(parents=True)
    demo_orthophoto_path(demo).write_bytes(b"II*\x00")
    assert configured(demo)[DEMO_SOURCE].kind == "raster"
    assert "SYNTHETIC" in configured(demo)[DEMO_SOURCE].describe()["description"]
    production = Settings(**{**demo.model_dump(), "demo_mode": False, "secret_key": "s" * 40,
                             "admin_password": "p" * 20, "pg_password": "q" * 20})
    assert DEMO_SOURCE not in configured(production)
    xyz = Settings(**{**demo.model_dump(), "chip_background_sources": {"OSM": "https://t/{z}/{x}/{y}.png",
                                                                      "Ortho": "o/x.vrt"}})
    sources = configured(xyz)
    assert sources["osm"].kind == "xyz" and sources["ortho"].href == str(tmp_path / "o" / "x.vrt")


def test_unreadable_background_source_is_502_without_its_path(chip_settings, tmp_path) -> None:
    from backend.errors import ImageReadError

    missing = tmp_path / "secret-place" / "nope.tif"
    s = Settings(**{**chip_settings.model_dump(), "chip_background_sources": {"ortho": str(missing)}})
    with pytest.raises(ImageReadError, match="background source 'ortho' cannot be read") as err:
        background(s, *lonlat(20, 30), 64, 64.0, "ortho", "tif")
    assert "secret-place" not in str(err.value) and err.value.http_status == 502


def test_failing_tile_service_is_502_without_its_url(chip_settings) -> None:
    import http.server
    import threading

    from backend.errors import ImageReadError

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(403)
            self.end_headers()
            self.wfile.write(b"bad key")

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        template = f"http://127.0.0.1:{server.server_address[1]}/{{z}}/{{x}}/{{y}}.png?key=SECRETKEY"
        s = Settings(**{**chip_settings.model_dump(), "chip_background_sources": {"osm": template},
                        "http_max_retry": 0})
        with pytest.raises(ImageReadError, match="background source 'osm' cannot be read") as err:
            background(s, *lonlat(32, 32), 64, 500.0, "osm", "png")
    finally:
        server.shutdown()
    assert "SECRETKEY" not in str(err.value)
