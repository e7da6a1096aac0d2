"""Photo services: take in a photo (checks, store, link), list a parcel's photos with signed URLs.

The same :func:`add_photo` serves the API (``POST /photos``) and ``cbm photos import``.
Nothing is stored unless every step succeeded: the row is inserted in a transaction, the files
are written before it commits and removed if anything fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from backend.chips.signing import InvalidToken, sign, verify
from backend.db import queries_parcel_reads as qpr
from backend.db import queries_photos as q
from backend.errors import AlreadyExists, ParcelNotFound
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.photos.checks import all_checks
from backend.photos.exif import PhotoMeta, read_meta
from backend.photos.image import SUFFIXES, Upload, open_photo, thumbnail
from backend.photos.link import Target, find_set, link
from backend.photos.store import photo_store
from backend.settings import Settings

log = logging.getLogger(__name__)
_TOKEN_PREFIX = "photo:"


def _duplicate(conn: q.Conn, pset: dict[str, Any], sha256: str) -> None:
    found = q.photo_by_hash(conn, pset["id"], sha256)
    if found is not None:
        raise AlreadyExists(f"this photo is already stored as photo {found['id']} of parcel {found['pid']} "
                            f"in {pset['aoi']} {pset['year']}; it is not stored twice")


def _row(upload: Upload, meta: PhotoMeta, pset: dict, parcel: dict, target: Target, checks: list,
         relation: dict[str, Any], uploader: str) -> dict[str, Any]:
    base = f"{pset['id']}/{upload.sha256[:2]}/{upload.sha256}"
    w, h = upload.size
    return {"set_id": pset["id"], "parcel_id": parcel["id"], "sha256": upload.sha256,
            "media_type": upload.media_type, "bytes": len(upload.data), "width": w, "height": h,
            "original_key": f"{base}{SUFFIXES[upload.media_type]}", "thumb_key": f"{base}.thumb.jpg",
            "lon": meta.lon, "lat": meta.lat,
            "taken_local": meta.taken_local, "utc_offset": meta.utc_offset, "bearing": meta.bearing,
            "bearing_ref": meta.bearing_ref, "accuracy_m": meta.accuracy_m, "declared_pid": target.pid,
            "condition": target.condition, "checks": checks, "uploaded_by": uploader, **relation}


def add_photo(conn: q.Conn, settings: Settings, data: bytes, target: Target, *, uploader: str,
              can_read: Callable[[str], bool]) -> dict[str, Any]:
    """Check, store and link one photo; returns it as :func:`list_photos` shows it.

    Raises:
        PhotoTooLarge, NotAPhoto, ImpossibleExif: the upload itself is refused.
        Forbidden: ``can_read`` refuses the AOI.
        NotFound, ParcelNotFound, InvalidInput: no set or parcel to link to (see ``link``).
        AlreadyExists: the set already holds a photo with the same content.
    """
    upload = open_photo(settings, data)
    meta = read_meta(upload.image)
    pset = find_set(conn, target, meta, can_read)
    parcel, ctx = link(conn, settings, pset, target, meta)
    _duplicate(conn, pset, upload.sha256)
    thumb = thumbnail(upload, settings.photo_thumb_px)
    relation = {"inside": ctx.inside, "distance_m": ctx.distance_m}
    row = _row(upload, meta, pset, parcel, target, all_checks(meta, ctx), relation, uploader)
    store = photo_store(settings)
    with conn.transaction():
        stored = q.insert_photo(conn, row)
        if stored is None:  # the same photo came in concurrently
            _duplicate(conn, pset, upload.sha256)
        assert stored is not None
        try:
            store.put(row["original_key"], upload.data, upload.media_type)
            store.put(row["thumb_key"], thumb, "image/jpeg")
        except BaseException:
            for key in (row["original_key"], row["thumb_key"]):
                _forget(store, key)
            raise
    log.info("photo %s stored for parcel %s of %s %s", stored["id"], parcel["pid"], pset["aoi"], pset["year"])
    return public(settings, {**row, **stored}, pset["aoi"], pset["year"], parcel["pid"])


def _forget(store: Any, key: str) -> None:
    try:
        store.delete(key)
    except Exception:  # the store is failing already; the row is rolled back either way
        log.warning("could not remove photo file %s after a failed upload", key)


def _url(settings: Settings, key: str, name: str) -> str:
    token = sign(settings, _TOKEN_PREFIX + key, settings.photo_url_ttl_s, stable_s=30)
    return f"/photos/files/{token}/{name}"


def public(settings: Settings, r: dict[str, Any], aoi: str, year: int, pid: str) -> dict[str, Any]:
    """A photo row as the API returns it: metadata, checks and short-lived signed URLs."""
    name = f"{aoi}_{year}_{pid}_photo{r['id']}"
    return {"id": r["id"], "aoi": aoi, "year": year, "pid": pid, "declared_pid": r["declared_pid"],
            "lon": r["lon"], "lat": r["lat"], "accuracy_m": r["accuracy_m"],
            "taken_local": r["taken_local"].isoformat() if r["taken_local"] else None,
            "utc_offset": r["utc_offset"], "bearing": r["bearing"], "bearing_ref": r["bearing_ref"],
            "inside": r["inside"],
            "distance_m": None if r["distance_m"] is None else round(r["distance_m"], 2),
            "condition": r["condition"], "checks": r["checks"],
            "failed": [c["check"] for c in r["checks"] if c["status"] == "fail"],
            "width": r["width"], "height": r["height"], "bytes": r["bytes"], "media_type": r["media_type"],
            "sha256": r["sha256"], "uploaded_by": r["uploaded_by"], "uploaded_at": r["uploaded_at"],
            "url": _url(settings, r["original_key"], name + SUFFIXES[r["media_type"]]),
            "thumbnail_url": _url(settings, r["thumb_key"], f"{name}_thumb.jpg"),
            "urls_expire_s": settings.photo_url_ttl_s}


def list_photos(conn: q.Conn, settings: Settings, key: ParcelSetKey, pid: str | None, *, offset: int = 0,
                limit: int = 1000) -> dict[str, Any]:
    """A parcel's photos (the set's without ``pid``) with checks and signed URLs, in the order taken, paged.

    Raises:
        ParcelSetNotFound, ParcelNotFound: no such set or parcel.
    """
    set_id = int(resolve_set(conn, key)["id"])
    parcel_id = None
    if pid is not None:
        row = qpr.parcel_row(conn, set_id, pid)
        if row is None:
            raise ParcelNotFound(f"no parcel {pid!r} in {key.aoi} {key.year}")
        parcel_id = int(row["id"])
    rows = q.photos(conn, set_id, parcel_id, offset, limit)
    photos = [public(settings, r, key.aoi, key.year, r["pid"]) for r in rows]
    return {"aoi": key.aoi, "year": key.year, "pid": pid, "total": rows[0]["total"] if rows else 0,
            "offset": offset, "limit": limit, "photos": photos}


def signed_file(settings: Settings, token: str) -> tuple[bytes, str, int]:
    """The bytes a signed photo token grants, their media type and the token's expiry (Unix seconds).

    Raises:
        InvalidToken: malformed, forged, expired, or not a photo token.
        NotFound: the file is gone from the store.
    """
    path, expiry = verify(settings, token)
    if not path.startswith(_TOKEN_PREFIX):
        raise InvalidToken("invalid link")
    key = path.removeprefix(_TOKEN_PREFIX)
    media = "image/heic" if key.endswith(".heic") else "image/jpeg"
    return photo_store(settings).get(key), media, expiry
