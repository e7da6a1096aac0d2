"""Parcel-set import: formats, column mapping, validation report, CRS, all-or-nothing writes."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from pyproj import Transformer

from backend.db import connect
from backend.errors import AlreadyExists, InvalidInput, ParcelSetNotFound
from backend.parcels import ColumnMapping, delete_parcel_set, import_parcels, load_mapping
from backend.parcels.validate import Outcome, validate_rows

# Warnings of the GDAL writers while building inputs (shapefiles have no DateTime, no CRS).
pytestmark = [pytest.mark.filterwarnings("ignore:Field sown created as String"),
              pytest.mark.filterwarnings("ignore:'crs' was not provided")]

DATA = Path(__file__).parent / "data" / "parcels"
X0, Y0 = 150_000.0, 450_000.0  # RD New (EPSG:28992), near Utrecht


def squares(n: int, *, size: float = 100.0, x0: float = X0, y0: float = Y0) -> list:
    return [shapely.box(x0 + i * 200, y0, x0 + i * 200 + size, y0 + size) for i in range(n)]


def parcels_gdf(n: int = 6, crs: int | None = 28992) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({
        "pid": np.arange(n, 0, -1),  # reverse order: ids must follow pid order, not file order
        "crop_code": [f"{100 + i}" for i in range(n)],
        "crop_name": [f"crop {i}" for i in range(n)],
        "sown": pd.to_datetime([f"2025-03-{i + 1:02d}" for i in range(n)]),
        "yield_t": [1.5 if i % 2 else np.nan for i in range(n)],
        "n_fields": np.arange(n, dtype=np.int32),
    }, geometry=squares(n), crs=crs)


def counts(settings) -> dict[str, int]:
    with connect(settings) as c:
        return {t: c.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"]
                for t in ("parcel_sets", "parcels", "extraction_jobs")}


def parcels_of(settings, set_id: int) -> list[dict]:
    with connect(settings) as c:
        return c.execute("SELECT id, pid, cropcode, cropname, area_m2, attrs, ST_SRID(geom) AS srid, "
                         "GeometryType(geom) AS gtype FROM parcels WHERE set_id = %s ORDER BY id",
                         (set_id,)).fetchall()


def write(gdf: gpd.GeoDataFrame, tmp_path: Path, fmt: str) -> Path:
    if fmt == "parquet":
        path = tmp_path / "parcels.parquet"
        gdf.to_parquet(path)
        return path
    if fmt == "zip":
        shp = write(gdf, tmp_path, "shp")
        path = tmp_path / "parcels.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for f in shp.parent.glob("parcels.*"):
                if f.suffix != ".zip":
                    zf.write(f, f.name)
        return path
    suffix = {"gpkg": ".gpkg", "shp": ".shp", "geojson": ".geojson", "fgb": ".fgb"}[fmt]
    path = tmp_path / f"parcels{suffix}"
    gdf.to_file(path)
    return path


# ------------------------------------------------------------------------------- formats


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "zip", "geojson", "fgb", "parquet"])
def test_every_format_imports(clean_db, tmp_path, fmt):
    path = write(parcels_gdf(), tmp_path, fmt)
    res = import_parcels(clean_db, path, aoi="nl", year=2025)
    assert (res.n_read, res.n_imported, res.n_rejected, res.srid) == (6, 6, 0, 28992)
    rows = parcels_of(clean_db, res.set_id)
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [r["pid"] for r in rows] == ["1", "2", "3", "4", "5", "6"]  # numeric pid order
    assert rows[0]["cropcode"] == "105" and rows[0]["cropname"] == "crop 5"
    assert {r["srid"] for r in rows} == {28992} and {r["gtype"] for r in rows} == {"MULTIPOLYGON"}
    assert rows[0]["area_m2"] == pytest.approx(10_000)
    attrs = rows[0]["attrs"]
    assert attrs["sown"][:10].replace("/", "-") == "2025-03-06" and attrs["n_fields"] == 5
    assert rows[1]["attrs"]["yield_t"] is None and rows[0]["attrs"]["yield_t"] == 1.5
    with connect(clean_db) as c:
        s = c.execute("SELECT srid, n_parcels, report, imported_by, ST_XMin(extent) AS x "
                      "FROM parcel_sets WHERE id = %s", (res.set_id,)).fetchone()
        part = c.execute("SELECT to_regclass(%s) AS t", (f"signatures_s{res.set_id}",)).fetchone()
    assert s["srid"] == 28992 and s["n_parcels"] == 6 and 5.2 < s["x"] < 5.4
    assert s["report"]["n_imported"] == 6 and s["report"]["columns"]["pid"] == ["pid"]
    assert part["t"] is not None


def test_3d_polygons_are_stored_2d(clean_db, tmp_path):
    gdf = parcels_gdf(3)
    gdf.geometry = shapely.force_3d(gdf.geometry.values, 5.0)
    res = import_parcels(clean_db, write(gdf, tmp_path, "fgb"), aoi="nl", year=2025)
    with connect(clean_db) as c:
        dims = c.execute("SELECT DISTINCT ST_NDims(geom) AS d FROM parcels").fetchall()
    assert res.n_imported == 3 and res.n_repaired == 0 and dims == [{"d": 2}]


def test_committed_fixture_with_yaml_mapping(clean_db):
    mapping = load_mapping(DATA / "mapping.yaml")
    assert mapping == ColumnMapping(pid="PERCEEL_ID", cropcode="GEWASCODE", cropname="GEWAS")
    res = import_parcels(clean_db, DATA / "small_rd.geojson", aoi="nl", year=2024,
                         mapping=mapping)
    assert res.n_imported == 4 and res.srid == 28992
    rows = parcels_of(clean_db, res.set_id)
    assert [r["pid"] for r in rows] == ["NL-001", "NL-002", "NL-003", "NL-004"]
    assert rows[0]["attrs"] == {"farm": "A", "organic": True}


def test_mapping_by_option_and_guess_failure(clean_db, tmp_path):
    gdf = parcels_gdf().rename(columns={"pid": "PERCEEL", "crop_code": "GEWAS_CODE",
                                        "crop_name": "GEWAS_NAAM"})
    path = write(gdf, tmp_path, "gpkg")
    with pytest.raises(InvalidInput, match=r"cannot guess the parcel id.*--id-col.*PERCEEL"):
        import_parcels(clean_db, path, aoi="nl", year=2025)
    with pytest.raises(InvalidInput, match="'NOPE' not found; available columns: PERCEEL"):
        import_parcels(clean_db, path, aoi="nl", year=2025,
                       mapping=ColumnMapping(pid="NOPE", cropcode="GEWAS_CODE"))
    mapping = ColumnMapping(pid="PERCEEL").override(cropcode="gewas_code", cropname=None)
    res = import_parcels(clean_db, path, aoi="nl", year=2025, mapping=mapping)
    row = parcels_of(clean_db, res.set_id)[0]
    assert row["cropcode"] == "105" and row["cropname"] is None
    assert row["attrs"]["GEWAS_NAAM"] == "crop 5"  # unmapped columns are kept as attrs


def test_load_mapping_errors(tmp_path):
    bad = tmp_path / "m.yaml"
    bad.write_text("pid: a\ncrop: b\n")
    with pytest.raises(InvalidInput, match=r"unknown key.*crop"):
        load_mapping(bad)
    bad.write_text("- a\n")
    with pytest.raises(InvalidInput, match="YAML mapping"):
        load_mapping(bad)
    with pytest.raises(InvalidInput, match=r"neither a file nor a shipped mapping; shipped: .*nl"):
        load_mapping(tmp_path / "missing.yaml")


def test_geopackage_layers(clean_db, tmp_path):
    path = tmp_path / "two.gpkg"
    parcels_gdf().to_file(path, layer="parcels_2025")
    parcels_gdf(3).to_file(path, layer="parcels_2024")
    with pytest.raises(InvalidInput, match="2 spatial layers: parcels_2025, parcels_2024"):
        import_parcels(clean_db, path, aoi="nl", year=2025)
    with pytest.raises(InvalidInput, match="no spatial layer 'x'"):
        import_parcels(clean_db, path, aoi="nl", year=2025, mapping=ColumnMapping(layer="x"))
    res = import_parcels(clean_db, path, aoi="nl", year=2024,
                         mapping=ColumnMapping(layer="parcels_2024"))
    assert res.n_imported == 3


# ------------------------------------------------------------------------------- validation


def bow_tie(x: float, y: float, twist: float) -> shapely.Polygon:
    """A 100 m square whose last two vertices are swapped: a twist of `twist` m at a corner."""
    return shapely.Polygon([(x, y), (x + 100, y), (x + 100, y + 100), (x, y + 100 - twist),
                            (x + twist, y + 100)])


DEFECTS = [  # pid, geometry, expected (action, code) or None when imported unchanged
    ("dup", shapely.box(X0, Y0 - 500, X0 + 50, Y0 - 450), ("rejected", "duplicate_pid")),
    ("dup", shapely.box(X0 + 100, Y0 - 500, X0 + 150, Y0 - 450), ("rejected", "duplicate_pid")),
    (None, shapely.box(X0, Y0 - 1000, X0 + 50, Y0 - 950), ("rejected", "missing_pid")),
    ("  ", shapely.box(X0, Y0 - 1100, X0 + 50, Y0 - 1050), ("rejected", "missing_pid")),
    ("null", None, ("rejected", "null_geometry")),
    ("empty", shapely.Polygon(), ("rejected", "empty_geometry")),
    ("point", shapely.Point(X0, Y0), ("rejected", "not_polygon")),
    ("line", shapely.LineString([(X0, Y0), (X0 + 100, Y0)]), ("rejected", "not_polygon")),
    ("twist", bow_tie(X0, Y0 - 2000, 4), ("repaired", "repaired")),
    ("figure8", shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100)]),
     ("rejected", "repair_area_change")),
    ("tiny", shapely.box(X0, Y0 - 3000, X0 + 2, Y0 - 2998), ("rejected", "area_too_small")),
    ("huge", shapely.box(X0, Y0 - 9000, X0 + 5000, Y0 - 4000), ("rejected", "area_too_large")),
    ("far", shapely.box(X0 + 90_000, Y0, X0 + 90_100, Y0 + 100), ("rejected", "outside_extent")),
]
N_GOOD = 20


def defects_gdf() -> gpd.GeoDataFrame:
    pids = [f"ok{i:02d}" for i in range(N_GOOD)] + [d[0] for d in DEFECTS]
    geoms = squares(N_GOOD) + [d[1] for d in DEFECTS]
    return gpd.GeoDataFrame({"pid": pids, "crop_code": "1"}, geometry=geoms, crs=28992)


def wgs84_extent(minx, miny, maxx, maxy, srid=28992):
    return Transformer.from_crs(srid, 4326, always_xy=True).transform_bounds(minx, miny, maxx, maxy)


def test_validate_rows_outcomes():
    gdf = defects_gdf()
    pids = np.array([None if pd.isna(p) or not p.strip() else p for p in gdf["pid"]], dtype=object)
    extent = shapely.box(X0 - 10_000, Y0 - 10_000, X0 + 10_000, Y0 + 10_000)
    v = validate_rows(pids, np.asarray(gdf.geometry.values), extent=extent)
    got = [Outcome(int(o)).code for o in v.outcome[N_GOOD:]]
    assert got == [d[2][1] for d in DEFECTS]
    assert (v.outcome[:N_GOOD] == Outcome.OK).all()
    twist = v.geoms[N_GOOD + 8]
    assert twist.is_valid and twist.area == pytest.approx(9_620, rel=0.01)


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_defects_are_reported(clean_db, tmp_path, suffix):
    path = write(defects_gdf(), tmp_path, "gpkg")
    report = tmp_path / f"report{suffix}"
    extent = wgs84_extent(X0 - 10_000, Y0 - 10_000, X0 + 10_000, Y0 + 10_000)
    res = import_parcels(clean_db, path, aoi="nl", year=2025, report_path=report,
                         aoi_extent=extent, skip_invalid=True)
    expected = {(N_GOOD + i + 1, d[2]) for i, d in enumerate(DEFECTS)}
    assert {(r.row, (r.action, r.code)) for r in res.report} == expected
    assert (res.n_read, res.n_repaired) == (N_GOOD + len(DEFECTS), 1)
    assert res.n_imported == N_GOOD + 1 and res.n_rejected == len(DEFECTS) - 1
    by_code = {r.code: r for r in res.report}
    assert "Self-intersection" in by_code["repaired"].reason
    assert "below 10 m²" in by_code["area_too_small"].reason
    assert "Point is not a polygon" in {r.reason for r in res.report if r.pid == "point"}.pop()
    if suffix == ".csv":
        with report.open() as fh:
            rows = list(csv.DictReader(fh))
        assert rows[0].keys() == {"row", "pid", "action", "code", "reason"}
    else:
        doc = json.loads(report.read_text())
        rows = doc["rows"]
        assert doc["summary"]["codes"]["duplicate_pid"] == 2
    assert len(rows) == len(DEFECTS)
    assert {r["pid"] for r in rows if r["code"] == "duplicate_pid"} == {"dup"}
    stored = {r["pid"]: r for r in parcels_of(clean_db, res.set_id)}
    assert set(stored) == {f"ok{i:02d}" for i in range(N_GOOD)} | {"twist"}
    assert stored["twist"]["area_m2"] == pytest.approx(9_620, rel=0.01)


def test_default_report_path(clean_db, tmp_path):
    res = import_parcels(clean_db, write(defects_gdf(), tmp_path, "gpkg"), aoi="nl", year=2025,
                         ptype="g", skip_invalid=True)
    assert res.report_path.parent == clean_db.var_dir / "reports"
    assert res.report_path.name.startswith("nl_2025_g_") and res.report_path.suffix == ".csv"
    with connect(clean_db) as c:
        rep = c.execute("SELECT report FROM parcel_sets").fetchone()["report"]
    assert rep["report_path"] == str(res.report_path) and rep["n_rejected"] == res.n_rejected


def test_any_rejected_row_refuses_the_import_but_is_reported(clean_db, tmp_path):
    path = write(defects_gdf(), tmp_path, "gpkg")  # 20 good rows, 13 defects (2 pass: no extent)
    report = tmp_path / "r.csv"
    before = counts(clean_db)
    with pytest.raises(InvalidInput, match=r"parcels.gpkg: 11 of 33 rows rejected \(.*duplicate_pid 2.*"
                       r"nothing imported; see .*r\.csv; fix them, or pass --skip-invalid") as info:
        import_parcels(clean_db, path, aoi="nl", year=2025, report_path=report)
    assert info.value.exit_code == 65
    lines = report.read_text().splitlines()  # header + every defect but "far" (no extent)
    assert len(lines) == len(DEFECTS) and "far" not in report.read_text()
    assert counts(clean_db) == before


def test_all_rows_rejected_refused_even_with_skip_invalid(clean_db, tmp_path):
    gdf = defects_gdf().iloc[N_GOOD:]
    gdf = gdf[gdf["pid"] != "twist"]  # defects only (the repairable one left out)
    before = counts(clean_db)
    extent = wgs84_extent(X0 - 10_000, Y0 - 10_000, X0 + 10_000, Y0 + 10_000)
    with pytest.raises(InvalidInput, match=r"12 of 12 rows rejected.*nothing imported; see [^;]*$"):
        import_parcels(clean_db, write(gdf, tmp_path, "gpkg"), aoi="nl", year=2025,
                       skip_invalid=True, aoi_extent=extent)
    assert counts(clean_db) == before


# ------------------------------------------------------------------------------- CRS


def test_missing_crs_refused_then_given(clean_db, tmp_path):
    path = write(parcels_gdf(crs=None), tmp_path, "shp")
    with pytest.raises(InvalidInput, match=r"has no CRS.*--crs"):
        import_parcels(clean_db, path, aoi="nl", year=2025)
    assert counts(clean_db)["parcel_sets"] == 0
    with pytest.raises(InvalidInput, match="--crs 'EPSG:nope' is not a known CRS"):
        import_parcels(clean_db, path, aoi="nl", year=2025, crs="EPSG:nope")
    res = import_parcels(clean_db, path, aoi="nl", year=2025, crs="EPSG:28992")
    assert res.srid == 28992 and res.n_imported == 6


def test_wgs84_input_is_reprojected_to_utm(clean_db, tmp_path):
    gdf = parcels_gdf().to_crs(4326)
    res = import_parcels(clean_db, write(gdf, tmp_path, "geojson"), aoi="nl", year=2025)
    assert res.srid == 32631  # 5.3° E, northern hemisphere
    rows = parcels_of(clean_db, res.set_id)
    assert {r["srid"] for r in rows} == {32631}
    assert rows[0]["area_m2"] == pytest.approx(10_000, rel=0.002)
    with connect(clean_db) as c:
        s = c.execute("SELECT srid, report FROM parcel_sets").fetchone()
    assert s["srid"] == 32631 and s["report"]["reprojected"] is True


# ------------------------------------------------------------------------------- bad files


def _bad_file(tmp_path: Path, kind: str) -> Path:
    if kind == "random.gpkg":
        (tmp_path / kind).write_bytes(np.random.default_rng(1).bytes(4096))
    elif kind == "empty.gpkg":
        (tmp_path / kind).write_bytes(b"")
    elif kind == "table.csv":
        (tmp_path / kind).write_text("pid,crop_code\n1,2\n")
    elif kind == "truncated.gpkg":
        good = write(parcels_gdf(), tmp_path, "gpkg").read_bytes()
        (tmp_path / kind).write_bytes(good[:2000])
    elif kind == "broken.geojson":
        (tmp_path / kind).write_text('{"type": "FeatureCollection", "features": [')
    elif kind == "plain.parquet":
        pd.DataFrame({"pid": [1]}).to_parquet(tmp_path / kind)
    elif kind == "garbage.parquet":
        (tmp_path / kind).write_bytes(b"PAR1 not really")
    elif kind == "nofeatures.gpkg":
        parcels_gdf().iloc[:0].to_file(tmp_path / kind)
    return tmp_path / kind


@pytest.mark.parametrize("kind", ["random.gpkg", "empty.gpkg", "table.csv", "truncated.gpkg",
                                  "broken.geojson", "plain.parquet", "garbage.parquet",
                                  "nofeatures.gpkg", "missing.gpkg"])
def test_unusable_files_are_refused(clean_db, tmp_path, kind):
    path = _bad_file(tmp_path, kind)
    before = counts(clean_db)
    with pytest.raises(InvalidInput) as info:
        import_parcels(clean_db, path, aoi="nl", year=2025)
    msg = str(info.value)
    assert kind in msg and "\n" not in msg and len(msg) < 400
    assert counts(clean_db) == before


def test_bad_keys_refused(clean_db, tmp_path):
    path = write(parcels_gdf(), tmp_path, "gpkg")
    for kwargs in ({"aoi": "NL"}, {"year": 1800}, {"ptype": "Bad-Type"},
                   {"aoi_extent": (10, 50, 5, 52)}):
        with pytest.raises(InvalidInput):
            import_parcels(clean_db, path, **{"aoi": "nl", "year": 2025, **kwargs})


# ------------------------------------------------------------------------------- writes


def test_reimport_refused_then_replaced(clean_db, tmp_path):
    first = import_parcels(clean_db, write(parcels_gdf(6), tmp_path, "gpkg"), aoi="nl", year=2025)
    gdf = parcels_gdf(4)
    gdf["pid"] = [40, 10, 30, 20]
    path = write(gdf, tmp_path, "parquet")
    with pytest.raises(AlreadyExists, match=r"nl 2025 exists.*--replace"):
        import_parcels(clean_db, path, aoi="nl", year=2025)
    second = import_parcels(clean_db, path, aoi="nl", year=2025, replace=True)
    assert second.set_id != first.set_id
    assert counts(clean_db) == {"parcel_sets": 1, "parcels": 4, "extraction_jobs": 0}
    rows = parcels_of(clean_db, second.set_id)
    assert [(r["id"], r["pid"]) for r in rows] == [(1, "10"), (2, "20"), (3, "30"), (4, "40")]
    with connect(clean_db) as c:
        old = c.execute("SELECT to_regclass(%s) AS t", (f"signatures_s{first.set_id}",)).fetchone()
    assert old["t"] is None
    # another ptype is another set
    import_parcels(clean_db, path, aoi="nl", year=2025, ptype="g")
    assert counts(clean_db)["parcel_sets"] == 2


@pytest.fixture()
def boom_check(clean_db):
    """A CHECK constraint that makes the COPY fail on pid 'boom' (mid-transaction failure)."""
    with connect(clean_db) as c:
        c.execute("ALTER TABLE parcels ADD CONSTRAINT test_no_boom CHECK (pid <> 'boom') NOT VALID")
    yield clean_db
    with connect(clean_db) as c:
        c.execute("ALTER TABLE parcels DROP CONSTRAINT test_no_boom")


def test_failure_mid_transaction_changes_nothing(boom_check, tmp_path):
    settings = boom_check
    import_parcels(settings, write(parcels_gdf(3), tmp_path, "gpkg"), aoi="nl", year=2025)
    before = counts(settings)
    gdf = parcels_gdf(5).astype({"pid": str})
    gdf.loc[4, "pid"] = "boom"
    path = write(gdf, tmp_path, "parquet")
    for replace in (False, True):
        with pytest.raises(psycopg.errors.CheckViolation):
            import_parcels(settings, path, aoi="nl", year=2026 if not replace else 2025,
                           replace=replace)
        assert counts(settings) == before
    with connect(settings) as c:
        assert c.execute("SELECT count(*) AS n FROM parcel_sets WHERE year = 2025 "
                         "AND n_parcels = 3").fetchone()["n"] == 1


def test_extraction_jobs_for_overlapping_images(clean_db, tmp_path):
    minx, miny, _, maxy = wgs84_extent(X0, Y0, X0 + 1200, Y0 + 100)
    near = shapely.box(minx - 0.1, miny - 0.1, minx + 0.05, maxy + 0.1).wkt
    far = shapely.box(20, 40, 21, 41).wkt
    with connect(clean_db) as c:
        for item, wkt in (("near", near), ("far", far)):
            c.execute("INSERT INTO images (item_id, collection, kind, datetime, footprint, bands, "
                      "item, item_hash) VALUES (%s, 's2', 's2', '2025-06-01T10:00:00Z', "
                      "ST_Multi(ST_GeomFromText(%s, 4326)), '{B04}', '{}', 'h')", (item, wkt))
    res = import_parcels(clean_db, write(parcels_gdf(), tmp_path, "gpkg"), aoi="nl", year=2025)
    assert res.n_jobs == 1
    with connect(clean_db) as c:
        jobs = c.execute("SELECT i.item_id, j.status FROM extraction_jobs j "
                         "JOIN images i ON i.id = j.image_id WHERE j.set_id = %s",
                         (res.set_id,)).fetchall()
    assert jobs == [{"item_id": "near", "status": "pending"}]


def test_delete_parcel_set(clean_db, tmp_path):
    res = import_parcels(clean_db, write(parcels_gdf(), tmp_path, "gpkg"), aoi="nl", year=2025)
    assert delete_parcel_set(clean_db, "nl", 2025) == 6
    assert counts(clean_db) == {"parcel_sets": 0, "parcels": 0, "extraction_jobs": 0}
    with connect(clean_db) as c:
        part = c.execute("SELECT to_regclass(%s) AS t", (f"signatures_s{res.set_id}",)).fetchone()
    assert part["t"] is None
    with pytest.raises(ParcelSetNotFound, match="no parcel set nl 2025"):
        delete_parcel_set(clean_db, "nl", 2025)


def test_multipolygon_ewkb_equals_shapely_promotion():
    from backend.parcels.validate import as_multipolygons
    from backend.parcels.write import multipolygon_ewkb_hex

    geoms = np.array([shapely.box(0, 0, 1, 1),
                      shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
                      shapely.Polygon([(0, 0), (4, 0), (4, 4), (0, 4)], [[(1, 1), (2, 1), (2, 2)]])],
                     dtype=object)
    expected = shapely.to_wkb(shapely.set_srid(as_multipolygons(geoms), 28992), hex=True,
                              include_srid=True)
    assert [h.upper() for h in multipolygon_ewkb_hex(geoms, 28992)] == list(expected)
