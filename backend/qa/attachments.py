"""Attachments of QA inspections: the evidence behind an inspector's verdict (issue 25).

An inspector who recorded an inspection attaches the files the true situation was established
with: a very-high-resolution image clip, a scanned field sheet, a photo (JPEG, PNG, TIFF or
PDF, recognised from their bytes, not from the name). Files live in the photo store
(``CBM_PHOTO_STORE``: var/ or S3) under a content-addressed key; the database keeps the name, type,
size and SHA-256. Like the inspections they are append-only: the same content twice on one
inspection is refused (409), a re-inspection of the unit gets attachments of its own.

Only the user who recorded the inspection, while an inspector of its sample, attaches files; any
user who reads the set reads them (they hold the inspector's evidence, not the system's decision).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from backend.db import queries_qa as q
from backend.errors import AlreadyExists, Forbidden, InvalidInput, LimitExceeded, NotFound
from backend.parcels.sets import ParcelSetKey
from backend.photos.store import photo_store
from backend.qa.inspectors import require_inspector
from backend.qa.samples import sample_of
from backend.settings import Settings

# The formats an inspection's evidence comes in, by their first bytes.
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg", ".jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
          (b"II*\x00", "image/tiff", ".tif"), (b"MM\x00*", "image/tiff", ".tif"),
          (b"%PDF-", "application/pdf", ".pdf"))
MEDIA_TYPES = tuple(dict.fromkeys(m for _, m, _ in _MAGIC))
MAX_PER_INSPECTION = 20


class AttachmentTooLarge(LimitExceeded):
    """The file exceeds ``photo_max_bytes``."""

    http_status = 413


def sniff(data: bytes) -> tuple[str, str]:
    """The media type and file suffix of ``data``, read from its first bytes.

    Raises:
        InvalidInput: empty, or none of the accepted formats.
    """
    if not data:
        raise InvalidInput("the attachment is empty: send the file as the 'file' form field")
    for magic, media_type, suffix in _MAGIC:
        if data.startswith(magic):
            return media_type, suffix
    raise InvalidInput("the attachment is not a JPEG, PNG, TIFF or PDF file (read from its bytes): "
                       "export the VHR clip or the field sheet in one of these formats")


def clean_name(name: str | None, suffix: str) -> str:
    """The upload's file name reduced to safe characters (the content's suffix when it has none)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", (name or "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]).strip("._")
    stem = stem[:100] or "attachment"
    return stem if "." in stem else stem + suffix


def _inspection(conn: q.Conn, key: ParcelSetKey, inspection_id: int) -> dict[str, Any]:
    row = q.inspection(conn, inspection_id)
    if row is not None:
        try:
            sample_of(conn, key, int(row["sample_id"]))  # an inspection of another set is not found
            return row
        except NotFound:
            pass
    raise NotFound(f"no QA inspection {inspection_id} in {key.aoi} {key.year}: the answer of "
                   "POST .../qa/inspections and the units list (inspection_id) give the ids")


def _public(row: dict[str, Any], key: ParcelSetKey) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "inspection_id", "filename", "media_type", "bytes", "sha256",
                               "uploaded_by", "uploaded_at")}
    out["url"] = f"/sets/{key.aoi}/{key.year}/qa/inspections/{row['inspection_id']}/attachments/{row['id']}"
    return out


def attach(conn: q.Conn, settings: Settings, key: ParcelSetKey, inspection_id: int, name: str | None,
           data: bytes, *, user: str, user_id: int) -> dict[str, Any]:
    """Store a file as evidence of an inspection; returns its record.

    The file is written to the store before its row, so a crash leaves at most an unreferenced file
    (content-addressed: a retry writes the same key), never a row without its file.

    Raises:
        NotFound: no such inspection in the set.
        Forbidden: the user did not record the inspection or is no longer an inspector of the sample.
        InvalidInput: empty or not an accepted format; AttachmentTooLarge: over ``photo_max_bytes``.
        AlreadyExists: the inspection already has this content.
        LimitExceeded: the inspection already has :data:`MAX_PER_INSPECTION` attachments.
    """
    row = _inspection(conn, key, inspection_id)
    require_inspector(conn, int(row["sample_id"]), user_id, user, key)
    if row["recorded_by"] != user:
        raise Forbidden(f"inspection {inspection_id} was recorded by {row['recorded_by']}: only they attach "
                        "its evidence (record your own inspection of the unit to add yours)")
    if len(data) > settings.photo_max_bytes:
        raise AttachmentTooLarge(f"the attachment has {len(data)} bytes, more than the limit of "
                                 f"{settings.photo_max_bytes} (CBM_PHOTO_MAX_BYTES)")
    media_type, suffix = sniff(data)
    if len(q.attachments(conn, [inspection_id])) >= MAX_PER_INSPECTION:
        raise LimitExceeded(f"inspection {inspection_id} has {MAX_PER_INSPECTION} attachments already, the "
                            "most one inspection keeps: put the pages into one PDF")
    sha = hashlib.sha256(data).hexdigest()
    store_key = f"qa/{row['sample_id']}/{sha[:2]}/{sha}{suffix}"
    photo_store(settings).put(store_key, data, media_type)
    new = q.insert_attachment(conn, inspection_id, {
        "filename": clean_name(name, suffix), "media_type": media_type, "bytes": len(data), "sha256": sha,
        "store_key": store_key, "uploaded_by": user})
    if new is None:
        raise AlreadyExists(f"inspection {inspection_id} already has this file (SHA-256 {sha[:12]}…)")
    return _public(new, key)


def list_for(conn: q.Conn, key: ParcelSetKey, inspection_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The attachments of these inspections (of ``key``'s set, not checked here), by inspection id."""
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in inspection_ids}
    for row in q.attachments(conn, inspection_ids):
        out[int(row["inspection_id"])].append(_public(row, key))
    return out


def attachments(conn: q.Conn, key: ParcelSetKey, inspection_id: int) -> list[dict[str, Any]]:
    """The attachments of one inspection of the set, oldest first.

    Raises:
        NotFound: no such inspection in the set.
    """
    _inspection(conn, key, inspection_id)
    return list_for(conn, key, [inspection_id])[inspection_id]


def attachment_file(conn: q.Conn, settings: Settings, key: ParcelSetKey, inspection_id: int,
                    attachment_id: int) -> tuple[bytes, dict[str, Any]]:
    """The bytes and record of one attachment (with the parcel's ``pid``).

    Raises:
        NotFound: no such inspection in the set, no such attachment of it, or the file is gone.
    """
    insp = _inspection(conn, key, inspection_id)
    row = q.attachment(conn, inspection_id, attachment_id)
    if row is None:
        raise NotFound(f"inspection {inspection_id} has no attachment {attachment_id}: list them with "
                       f"GET /sets/{key.aoi}/{key.year}/qa/inspections/{inspection_id}/attachments")
    return photo_store(settings).get(row["store_key"]), {**_public(row, key), "pid": insp["pid"]}
