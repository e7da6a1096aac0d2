"""Geotagged photos through the real API and the real `cbm photos import` (issue 26).

An own database with the tiny area (``apitools``: parcels A, B, C, D of set tt 2025 in
EPSG:32631), so that the decisions added here for the condition window do not touch other
tests. Photos are JPEGs with EXIF written by ``phototools``; positions are placed at known
distances from the parcels' rectangles.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from apitools import PARCELS, Server, api_database, running_api
from gridtools import rect
from phototools import jpeg, wgs84
from PIL import Image

from backend.db import connect, database_url
from backend.settings import Settings

A = rect(*PARCELS["A"])  # 100 m x 80 m
C = rect(*PARCELS["C"])
A_WEST = A.bounds[0]
A_MID_Y = (A.bounds[1] + A.bounds[3]) / 2


def west_of_a(metres: float) -> tuple[float, float]:
    """WGS84 position ``metres`` west of parcel A's west edge, at its middle."""
    return wgs84(A_WEST - metres, A_MID_Y)


@pytest.fixture(scope="module")
def photo_settings(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with api_database(base_settings, tmp_path_factory.mktemp("photos"), "cbm_phototest") as s:
        with connect(s, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO decisions (run_id, set_id, parcel_id, condition, colour, reason, evidence, "
                "rule_version) SELECT r.id, p.set_id, p.id, 'mown_june', 'yellow', 'test', "
                "'{\"condition\": {\"window\": [\"2025-06-01\", \"2025-06-30\"]}}', 'r1' FROM parcels p "
                "JOIN parcel_sets s ON s.id = p.set_id JOIN marker_runs r ON r.set_id = s.id "
                "WHERE s.aoi = 'tt' AND p.pid = 'C'")
        yield Settings(**{**s.model_dump(), "photo_max_bytes": 2_000_000, "photo_max_pixels": 6_000_000})


@pytest.fixture(scope="module")
def papi(photo_settings: Settings) -> Iterator[Server]:
    with running_api(photo_settings) as server:
        yield server


def state(s: Settings) -> tuple[int, list[str]]:
    """Photo rows and files in the store (to show that a refusal stored nothing)."""
    with connect(s) as conn:
        n = conn.execute("SELECT count(*) AS n FROM photos").fetchone()["n"]
    root = s.var_dir / "photos"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return n, files


def post(api: Server, data: bytes, who: str = "consumer", **form: object) -> tuple[int, dict]:
    with api.client(who) as c:
        r = c.post("/photos", files={"file": ("p.jpg", data, "image/jpeg")},
                   data={k: str(v) for k, v in form.items()})
    return r.status_code, r.json()


def checks(photo: dict) -> dict[str, str]:
    return {c["check"]: c["status"] for c in photo["checks"]}


def test_photo_inside_a_parcel_is_linked_checked_listed_and_served_signed(papi: Server) -> None:
    cx, cy = A.centroid.x, A.centroid.y
    data = jpeg(lonlat=wgs84(cx, cy), bearing=90, accuracy=3.5, seed=1, size=(900, 600))
    status, photo = post(papi, data)
    assert status == 201, photo
    assert (photo["aoi"], photo["year"], photo["pid"], photo["inside"], photo["distance_m"]) == (
        "tt", 2025, "A", True, 0.0)
    assert (photo["bearing"], photo["accuracy_m"], photo["taken_local"], photo["utc_offset"]) == (
        90.0, 3.5, "2025-06-15T10:11:12", "+02:00")
    assert checks(photo) == {"exif": "pass", "gps": "pass", "position": "pass", "season": "pass",
                             "direction": "pass", "duplicate": "pass"}
    with papi.client("analyst") as c:
        listed = c.get("/sets/tt/2025/photos", params={"pid": "A"}).json()["photos"]
    assert [p["id"] for p in listed] == [photo["id"]] and listed[0]["checks"] == photo["checks"]
    with papi.client(None) as anonymous:
        original = anonymous.get(listed[0]["url"])
        thumb = anonymous.get(listed[0]["thumbnail_url"])
        token = listed[0]["url"].split("/")[3]
        bad = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
        forged = anonymous.get(listed[0]["url"].replace(token, bad))
        as_chip = anonymous.get(f"/files/{token}/x.png")
    assert original.status_code == 200 and original.content == data  # the original as uploaded
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    small = Image.open(io.BytesIO(thumb.content))
    assert max(small.size) == 512 and not small.getexif() and b"Exif" not in thumb.content
    assert forged.status_code == 403 and as_chip.status_code in (403, 404)


def test_declared_parcel_outside_with_distance_and_direction(papi: Server) -> None:
    status, toward = post(papi, jpeg(lonlat=west_of_a(15), bearing=90, seed=2), pid="A")
    assert status == 201, toward
    assert toward["pid"] == "A" and toward["inside"] is False
    assert toward["distance_m"] == pytest.approx(15, abs=0.1)
    assert checks(toward)["position"] == "pass" and checks(toward)["direction"] == "pass"
    status, away = post(papi, jpeg(lonlat=west_of_a(15), bearing=270, seed=3), pid="A")
    assert status == 201 and checks(away)["direction"] == "fail" and away["failed"] == ["direction"]
    status, far = post(papi, jpeg(lonlat=west_of_a(60), bearing=90, seed=4), pid="A")
    assert status == 201 and far["distance_m"] == pytest.approx(60, abs=0.2)
    assert checks(far)["position"] == "fail" and "60." in far["checks"][2]["detail"]
    # taken inside B but declared for A: linked to A, the position check names B
    b = rect(*PARCELS["B"]).centroid
    status, other = post(papi, jpeg(lonlat=wgs84(b.x, b.y), seed=5), pid="A")
    assert status == 201 and other["pid"] == "A" and "inside B" in other["checks"][2]["detail"]


def test_heic_photo_stored_as_heic_with_a_jpeg_thumbnail(papi: Server) -> None:
    data = jpeg(lonlat=wgs84(C.centroid.x + 20, C.centroid.y), seed=40, fmt="HEIF")
    status, photo = post(papi, data)
    assert status == 201, photo
    assert (photo["pid"], photo["media_type"], photo["inside"]) == ("C", "image/heic", True)
    assert photo["url"].endswith(".heic") and photo["thumbnail_url"].endswith("_thumb.jpg")
    with papi.client(None) as c:
        original, thumb = c.get(photo["url"]), c.get(photo["thumbnail_url"])
    assert original.content == data and original.headers["content-type"] == "image/heic"
    assert Image.open(io.BytesIO(thumb.content)).format == "JPEG"


def test_no_exif_or_no_gps(papi: Server) -> None:
    before = state(papi.settings)
    for data in (jpeg(exif=False, seed=6), jpeg(lonlat=None, seed=7)):
        status, answer = post(papi, data)
        assert status == 422 and "no GPS position" in answer["detail"], answer
    assert state(papi.settings) == before
    status, photo = post(papi, jpeg(exif=False, seed=6), aoi="tt", year=2025, pid="D")
    assert status == 201 and photo["lon"] is None
    assert checks(photo) == {"exif": "fail", "gps": "fail", "position": "unknown", "season": "unknown",
                             "direction": "unknown", "duplicate": "pass"}


def test_condition_window_and_season(papi: Server) -> None:
    inside_c = wgs84(C.centroid.x, C.centroid.y)
    status, june = post(papi, jpeg(lonlat=inside_c, seed=8), condition="mown_june")
    assert status == 201 and checks(june)["window"] == "pass", june
    status, july = post(papi, jpeg(lonlat=inside_c, taken="2025:07:15 10:00:00", seed=9),
                        condition="mown_june")
    assert status == 201 and checks(july)["window"] == "fail" and "2025-06-01 to 2025-06-30" in str(july)
    status, old = post(papi, jpeg(lonlat=inside_c, taken="2024:08:01 10:00:00", seed=10))
    assert status == 201 and checks(old)["season"] == "fail" and "older than the 2025 season" in str(old)
    before = state(papi.settings)
    status, answer = post(papi, jpeg(lonlat=inside_c, seed=11), condition="nope")
    assert status == 422 and "mown_june" in answer["detail"]  # names the parcel's conditions
    assert state(papi.settings) == before


def test_duplicate_is_refused_never_stored_twice(papi: Server) -> None:
    data = jpeg(lonlat=wgs84(C.centroid.x, C.centroid.y + 5), seed=12)
    status, first = post(papi, data)
    assert status == 201
    before = state(papi.settings)
    status, again = post(papi, data, who="analyst", pid="C")
    assert status == 409 and f"photo {first['id']}" in again["detail"]
    assert state(papi.settings) == before


@pytest.mark.parametrize(("make", "form", "who", "code", "words"), [
    (lambda: b"GIF89a not really", {}, "consumer", 422, "not an image"),
    (lambda: jpeg(lonlat=(5.0, 52.0), size=(800, 500)) + os.urandom(2_000_000), {}, "consumer", 413,
     "CBM_PHOTO_MAX_BYTES"),
    (lambda: _plain_jpeg(3000, 2500), {"aoi": "tt", "year": 2025, "pid": "A"}, "consumer", 413, "pixels"),
    (lambda: jpeg(lonlat=(5.0, 52.0), bearing=400), {}, "consumer", 422, "direction 400"),
    (lambda: jpeg(lonlat=(5.0, 52.0), taken="2099:01:01 00:00:00"), {}, "consumer", 422, "future"),
    (lambda: jpeg(lonlat=west_of_a(0), seed=13), {"aoi": "tt", "year": 2025}, "outsider", 403, "no access"),
    (lambda: jpeg(lonlat=(10.0, 45.0), seed=14), {}, "consumer", 404, "no parcel set you may read"),
    # the outsider's only set (zz) is near C but holds no parcel there: tt is never considered
    (lambda: jpeg(lonlat=wgs84(C.centroid.x, C.centroid.y), seed=18), {}, "outsider", 422,
     "no parcel of zz 2025"),
    (lambda: jpeg(lonlat=west_of_a(-5), seed=15), {"pid": "nope"}, "consumer", 404, "no parcel 'nope'"),
    (lambda: jpeg(lonlat=west_of_a(5), seed=16), {}, "consumer", 422, "lies in no parcel"),
    (lambda: jpeg(lonlat=west_of_a(-5), seed=17), {"aoi": "tt", "year": 2024}, "consumer", 404, "2024"),
])
def test_bad_input_is_a_clear_4xx_and_stores_nothing(papi: Server, make, form, who, code, words) -> None:
    before = state(papi.settings)
    status, answer = post(papi, make(), who=who, **form)
    assert status == code and words in str(answer["detail"]), (status, answer)
    assert state(papi.settings) == before


def _plain_jpeg(w: int, h: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (w, h), (90, 140, 60)).save(out, "JPEG", quality=50)
    assert len(out.getvalue()) < 2_000_000
    return out.getvalue()


def test_set_listing_pages_every_parcels_photos(papi: Server) -> None:
    with papi.client("consumer") as c:
        everything = c.get("/sets/tt/2025/photos").json()
        first = c.get("/sets/tt/2025/photos", params={"limit": 1}).json()
        second = c.get("/sets/tt/2025/photos", params={"limit": 1, "offset": 1}).json()
        per_parcel = {pid: c.get("/sets/tt/2025/photos", params={"pid": pid}).json()["total"]
                      for pid in PARCELS}
    with connect(papi.settings) as conn:
        n = conn.execute("SELECT count(*) AS n FROM photos f JOIN parcel_sets s ON s.id = f.set_id "
                         "WHERE s.aoi = 'tt'").fetchone()["n"]
    assert everything["total"] == len(everything["photos"]) == n == sum(per_parcel.values())
    assert {p["pid"] for p in everything["photos"]} == {k for k, v in per_parcel.items() if v}
    paged = [p["id"] for p in first["photos"] + second["photos"]]
    assert paged == [p["id"] for p in everything["photos"][:2]]
    assert first["total"] == n


def test_listing_needs_the_grant_and_credentials(papi: Server) -> None:
    with papi.client("outsider") as c:
        assert c.get("/sets/tt/2025/photos", params={"pid": "A"}).status_code == 403
    with papi.client(None) as c:
        assert c.get("/sets/tt/2025/photos", params={"pid": "A"}).status_code == 401
        assert c.post("/photos", files={"file": ("p.jpg", jpeg(), "image/jpeg")}).status_code == 401
    with papi.client("consumer") as c:
        assert c.get("/sets/tt/2025/photos", params={"pid": "nope"}).status_code == 404


def test_s3_store(photo_settings: Settings, moto_s3: str) -> None:
    s = Settings(**{**photo_settings.model_dump(), "photo_store": "s3://cbm-photos/field",
                    "s3_endpoint": moto_s3, "s3_https": False, "s3_access_key_id": "test",
                    "s3_secret_access_key": "test"})
    s3 = boto3.client("s3", endpoint_url=f"http://{moto_s3}", region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="cbm-photos")
    data = jpeg(lonlat=wgs84(C.centroid.x - 10, C.centroid.y), seed=20)
    with running_api(s) as api:
        status, photo = post(api, data)
        assert status == 201, photo
        with api.client(None) as c:
            assert c.get(photo["url"]).content == data
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="cbm-photos")["Contents"])
    assert keys == [f"field/{k}" for k in sorted(_keys(s, photo["id"]))]


def _keys(s: Settings, photo_id: int) -> tuple[str, str]:
    with connect(s) as conn:
        r = conn.execute("SELECT original_key, thumb_key FROM photos WHERE id = %s", (photo_id,)).fetchone()
    return r["original_key"], r["thumb_key"]


def run_cbm(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CBM_DEMO_MODE": "true", "CBM_DATABASE_URL": database_url(s),
           "CBM_VAR_DIR": str(s.var_dir)}
    return subprocess.run([sys.executable, "-m", "backend", *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)


def test_cli_import_folder_with_report_and_partial_exit(photo_settings: Settings, tmp_path: Path) -> None:
    d = rect(*PARCELS["D"]).centroid
    (tmp_path / "in_d.jpg").write_bytes(jpeg(lonlat=wgs84(d.x, d.y), seed=30))
    (tmp_path / "D__no_gps.jpg").write_bytes(jpeg(lonlat=None, seed=31))
    (tmp_path / "notes.txt").write_text("field notes")
    (tmp_path / "nowhere.jpg").write_bytes(jpeg(lonlat=west_of_a(5), seed=32))
    before = state(photo_settings)[0]
    res = run_cbm(photo_settings, "photos", "import", str(tmp_path), "--aoi", "tt", "--year", "2025")
    assert res.returncode == 4, res.stderr
    lines = dict(line.split(": ", 1) for line in res.stdout.splitlines()[:-1])
    assert lines["in_d.jpg"].startswith("stored: photo") and "of parcel D" in lines["in_d.jpg"]
    assert lines["D__no_gps.jpg"].startswith("stored:") and "failed checks: gps" in lines["D__no_gps.jpg"]
    assert lines["notes.txt"].startswith("refused: ") and "not an image" in lines["notes.txt"]
    assert lines["nowhere.jpg"].startswith("refused: ") and "lies in no parcel" in lines["nowhere.jpg"]
    assert res.stdout.splitlines()[-1] == "2 stored, 0 already stored, 2 refused of 4 files"
    assert state(photo_settings)[0] == before + 2
    (tmp_path / "notes.txt").unlink()
    (tmp_path / "nowhere.jpg").unlink()
    again = run_cbm(photo_settings, "photos", "import", str(tmp_path), "--aoi", "tt", "--year", "2025")
    assert again.returncode == 0, again.stderr  # a re-run is harmless: nothing stored twice
    assert again.stdout.splitlines()[-1] == "0 stored, 2 already stored, 0 refused of 2 files"
    assert state(photo_settings)[0] == before + 2
    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.jpg").write_bytes(b"not a photo")
    assert run_cbm(photo_settings, "photos", "import", str(only_bad), "--aoi", "tt", "--year", "2025"
                   ).returncode == 65
    assert run_cbm(photo_settings, "photos", "import", str(tmp_path / "missing"), "--aoi", "tt",
                   "--year", "2025").returncode == 66


def _reviews_of(s: Settings, pid: str) -> list[list[int]]:
    with connect(s) as conn:
        rows = conn.execute("SELECT r.photo_ids FROM reviews r JOIN parcels p ON p.set_id = r.set_id AND "
                            "p.id = r.parcel_id WHERE p.pid = %s ORDER BY r.id", (pid,)).fetchall()
    return [list(r["photo_ids"]) for r in rows]


def test_review_cites_photos_of_its_parcel_only(papi: Server) -> None:
    _, in_c = post(papi, jpeg(lonlat=wgs84(C.centroid.x + 3, C.centroid.y - 3), seed=30))
    _, in_a = post(papi, jpeg(lonlat=wgs84(A.centroid.x + 3, A.centroid.y), seed=31))
    assert (in_c["pid"], in_a["pid"]) == ("C", "A")
    body = {"pid": "C", "condition": "mown_june", "verdict": "confirm", "comment": "photo shows the cut"}
    before = _reviews_of(papi.settings, "C")
    with papi.client("consumer") as c:
        refused = {ids[0] if len(ids) == 1 else "twice": c.post("/sets/tt/2025/reviews",
                                                                 json={**body, "photo_ids": ids})
                   for ids in ([in_a["id"]], [99_999_999], [in_c["id"], in_c["id"]])}
        zero = c.post("/sets/tt/2025/reviews", json={**body, "photo_ids": [0]})
        saved = c.post("/sets/tt/2025/reviews", json={**body, "photo_ids": [in_c["id"]]})
        history = c.get("/sets/tt/2025/reviews", params={"pid": "C"}).json()["history"]
    assert {k: r.status_code for k, r in refused.items()} == {in_a["id"]: 422, 99_999_999: 422, "twice": 422}
    assert f"photo {in_a['id']} (parcel A) is not a photo of parcel C" in refused[in_a["id"]].json()["detail"]
    assert "no photo 99999999 in tt 2025" in refused[99_999_999].json()["detail"]
    assert "cited more than once" in refused["twice"].json()["detail"] and zero.status_code == 422
    assert _reviews_of(papi.settings, "C") == [*before, [in_c["id"]]]  # refusals stored nothing
    assert saved.status_code == 201 and saved.json()["photo_ids"] == [in_c["id"]]
    assert history[0]["id"] == saved.json()["id"] and history[0]["photo_ids"] == [in_c["id"]]


def test_evidence_sheet_shows_the_parcels_photos_with_checks_and_citations(papi: Server) -> None:
    import base64

    _, photo = post(papi, jpeg(lonlat=wgs84(C.centroid.x - 4, C.centroid.y + 4), bearing=180, seed=32))
    with papi.client("consumer") as c:
        body = {"pid": "C", "condition": "mown_june", "verdict": "field_visit", "photo_ids": [photo["id"]]}
        review = c.post("/sets/tt/2025/reviews", json=body).json()
        sheet = c.get("/parcels/evidence.html", params={"aoi": "tt", "year": 2025, "pid": "C"}).text
        empty = c.get("/parcels/evidence.html", params={"aoi": "tt", "year": 2025, "pid": "B"}).text
        thumb = c.get(photo["thumbnail_url"]).content
        listed = c.get("/sets/tt/2025/photos", params={"pid": "C"}).json()["photos"]
    block = sheet.split(f'<div class="photo-block" id="photo-{photo["id"]}">', 1)[1].split("</div>", 1)[0]
    assert base64.b64encode(thumb).decode() in block  # the stored EXIF-free thumbnail, embedded
    assert "bearing 180°T" in block and "inside the parcel" in block
    for check in photo["checks"]:
        assert f"<td>{check['check']}</td><td>{check['status']}</td>" in block
    assert f"Cited by: field_visit on mown_june by consumer, {review['reviewed_at'][:10]}" in block
    assert sheet.count('<div class="photo-block"') == len(listed)  # every photo of C, no other parcel's
    assert "<h2>Photos</h2><p>No photo of this parcel.</p>" in empty
