"""Geotagged photos attached to parcels: EXIF, checks, storage, thumbnails, linking (issue 26)."""

from __future__ import annotations

from backend.photos.link import Target
from backend.photos.service import add_photo, list_photos, signed_file

__all__ = ["Target", "add_photo", "list_photos", "signed_file"]
