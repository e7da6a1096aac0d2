"""EXIF reading, impossible values, image checks, thumbnails and the pure checks of photos (issue 26)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from phototools import jpeg
from PIL import ExifTags, Image

from backend.photos.checks import Context, all_checks
from backend.photos.exif import ImpossibleExif, PhotoMeta, read_meta
from backend.photos.image import NotAPhoto, PhotoTooLarge, open_photo, thumbnail
from backend.settings import Settings

S = Settings(demo_mode=True)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def meta_of(data: bytes) -> PhotoMeta:
    return read_meta(Image.open(io.BytesIO(data)), now=NOW)


def test_position_time_bearing_accuracy_read() -> None:
    m = meta_of(jpeg(lonlat=(-5.123456, 52.654321), bearing=271.5, accuracy=4.5, offset="-03:30"))
    assert m.has_exif and m.has_position
    assert m.lon == pytest.approx(-5.123456, abs=1e-7) and m.lat == pytest.approx(52.654321, abs=1e-7)
    assert (m.bearing, m.bearing_ref, m.accuracy_m) == (271.5, "T", 4.5)
    assert m.taken_local == datetime(2025, 6, 15, 10, 11, 12) and m.utc_offset == "-03:30"
    assert m.taken_utc == datetime(2025, 6, 15, 13, 41, 12, tzinfo=UTC)


def test_heic_read_like_jpeg() -> None:
    data = jpeg(lonlat=(5.25, 52.125), bearing=10.0, fmt="HEIF")
    up = open_photo(S, data)
    assert up.media_type == "image/heic" and data[4:12] == b"ftypheic"
    m = read_meta(up.image, now=NOW)
    assert (round(m.lon or 0, 6), round(m.lat or 0, 6), m.bearing) == (5.25, 52.125, 10.0)
    thumb = Image.open(io.BytesIO(thumbnail(up, 64)))
    assert thumb.format == "JPEG" and thumb.size == (64, 43) and not thumb.getexif()


def test_no_exif_and_stripped_gps() -> None:
    assert meta_of(jpeg(exif=False)) == PhotoMeta(has_exif=False)
    m = meta_of(jpeg(lonlat=None, offset=None))
    assert m.has_exif and not m.has_position and m.utc_offset is None and m.taken_utc is None
    checks = {c["check"]: c["status"] for c in all_checks(m, Context("A", 2025, 20, 150))}
    assert checks == {"exif": "pass", "gps": "fail", "position": "unknown", "season": "pass",
                      "direction": "unknown", "duplicate": "pass"}


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"gps_raw": {ExifTags.GPS.GPSLatitude: (95.0, 0.0, 0.0)}}, "latitude 95"),
    ({"gps_raw": {ExifTags.GPS.GPSLongitude: (181.0, 0.0, 0.0)}}, "longitude 181"),
    ({"gps_raw": {ExifTags.GPS.GPSLatitude: (52.0, 75.0, 0.0)}}, "degrees, minutes, seconds"),
    ({"gps_raw": {ExifTags.GPS.GPSLatitudeRef: "X"}}, "reference 'X'"),
    ({"bearing": 400.0}, "direction 400"),
    ({"bearing": 10.0, "bearing_ref": "Q"}, "not T or M"),
    ({"taken": "2026:03:01 12:00:00"}, "future"),
    ({"taken": "1970:01:01 00:00:00"}, "before 1990"),
    ({"taken": "2025:13:45 10:00:00"}, "not a date"),
    ({"offset": "2 hours"}, "OffsetTimeOriginal"),
])
def test_impossible_values_refused(kwargs: dict, words: str) -> None:
    with pytest.raises(ImpossibleExif, match=words):
        meta_of(jpeg(lonlat=(5.5, 52.5), **kwargs))


def test_not_a_photo_and_limits() -> None:
    for data, words in ((b"", "empty"), (b"%PDF-1.7 not an image", "not an image"),
                        (_png(), "must be JPEG")):
        with pytest.raises(NotAPhoto, match=words):
            open_photo(S, data)
    big = jpeg(size=(400, 300))
    with pytest.raises(PhotoTooLarge, match="CBM_PHOTO_MAX_BYTES"):
        open_photo(Settings(demo_mode=True, photo_max_bytes=len(big) - 1), big)
    with pytest.raises(PhotoTooLarge, match="400 x 300 pixels"):
        open_photo(Settings(demo_mode=True, photo_max_pixels=100_000), big)
    truncated = open_photo(S, big[: len(big) // 2])
    with pytest.raises(NotAPhoto, match="cannot be decoded"):
        thumbnail(truncated, 64)


def test_truncated_jpeg_refused_even_when_pillow_is_told_to_load_truncated_images(monkeypatch) -> None:
    """WeasyPrint (the QA report's PDF) sets Pillow's LOAD_TRUNCATED_IMAGES for the whole process."""
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    data = jpeg(size=(400, 300))
    exif = Image.open(io.BytesIO(data)).getexif()
    # an embedded thumbnail (EXIF APP1 in phones' photos; here in an APP2 segment) holds its own
    # scan and end marker before the image's
    embedded = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 30)).save(embedded, "JPEG")
    out = io.BytesIO()
    Image.open(io.BytesIO(data)).save(out, "JPEG", exif=exif.tobytes(),
                                      icc_profile=b"x" * 16 + embedded.getvalue())
    intact = out.getvalue()
    assert intact.count(b"\xff\xd9") >= 2
    assert thumbnail(open_photo(S, intact), 64).startswith(b"\xff\xd8")
    for cut in (len(intact) // 2, len(intact) - 2):
        with pytest.raises(NotAPhoto, match="ends before its end-of-image marker"):
            thumbnail(open_photo(S, intact[:cut]), 64)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    return out.getvalue()


def test_thumbnail_is_small_upright_and_without_exif() -> None:
    ex = Image.Exif()
    ex[ExifTags.Base.Orientation] = 6  # rotate 90° to show: a 400 x 300 sensor image is 300 x 400
    gps = ex.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 1.0, 2.0)
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 10, 10)).save(out, "JPEG", exif=ex)
    thumb = Image.open(io.BytesIO(thumbnail(open_photo(S, out.getvalue()), 128)))
    assert thumb.format == "JPEG" and thumb.size == (96, 128)
    assert not thumb.getexif() and "exif" not in thumb.info


def test_thumbnail_keeps_the_stored_size_and_never_enlarges() -> None:
    big = open_photo(S, jpeg(size=(1200, 900), seed=3))
    thumb = Image.open(io.BytesIO(thumbnail(big, 128)))
    assert thumb.size == (128, 96) and big.size == (1200, 900)  # the draft decode left the size alone
    small = Image.open(io.BytesIO(thumbnail(open_photo(S, jpeg(size=(96, 64), seed=4)), 128)))
    assert small.size == (96, 64)


def _ctx(**kw: object) -> Context:
    base: dict = {"pid": "A", "year": 2025, "near_m": 20.0, "view_m": 150.0}
    return Context(**{**base, **kw})  # type: ignore[arg-type]


def test_checks_position_time_window_direction() -> None:
    m = PhotoMeta(True, 5.0, 52.0, datetime(2025, 6, 15, 9), None, 90.0, "M", 3.0)
    by = {c["check"]: c for c in all_checks(m, _ctx(inside=False, distance_m=15.0, ray_in_m=100.0,
                                                     condition="mown", window=(date(2025, 6, 1),
                                                                               date(2025, 8, 15))))}
    assert by["position"]["status"] == "pass" and "15.0 m outside" in by["position"]["detail"]
    assert by["window"]["status"] == "pass" and by["direction"]["status"] == "pass"
    assert "magnetic" in by["direction"]["detail"]
    by = {c["check"]: c for c in all_checks(m, _ctx(inside=False, distance_m=25.0, ray_in_m=0.0,
                                                     condition="mown", window=(date(2025, 7, 1),
                                                                               date(2025, 8, 15))))}
    assert [by[k]["status"] for k in ("position", "window", "direction", "season")] == [
        "fail", "fail", "fail", "pass"]
    old = PhotoMeta(True, 5.0, 52.0, datetime(2024, 9, 1, 9))
    by = {c["check"]: c["status"] for c in all_checks(old, _ctx(inside=True, distance_m=0.0))}
    assert by["season"] == "fail"
