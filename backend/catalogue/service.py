"""Catalogue services: import items from a source, list and summarise images.

Upsert rules (per ``(collection, item_id)``):

* new item -> inserted;
* same ``item_hash`` (sha256 of the canonical stored item JSON) -> nothing written (the
  stdlib-JSON hash of earlier versions counts as the same, and is renewed);
* different hash -> row updated (``updated_at`` bumped). If the href of a band or mask asset
  changed (other than in its query string: a SAS token or presigned URL is not a change),
  the image's done/failed extraction jobs go back to pending and their signatures are
  deleted (the pixels may differ); running jobs are left alone. Metadata-only changes keep
  jobs and signatures.

One acquisition = one image: a new image with the same kind, platform, tile and time
(within a minute) as a catalogued one is recorded as its duplicate (``duplicate_of``) and
gets no jobs, unless ``settings.catalogue_provider_preference`` prefers it and the other
copy has no finished job yet (then the other becomes the duplicate and loses its pending
jobs). After each batch, jobs are created for every (image of the batch, parcel set of its
season whose extent it overlaps) pair that has none, unchanged images included. Each batch
is one transaction.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from backend.catalogue.assets import CBM_ASSETS, band_hrefs
from backend.catalogue.filters import DateLike, ItemFilter, to_datetime
from backend.catalogue.items import StacItem
from backend.catalogue.mapping import BandMap, choose
from backend.catalogue.models import AddResult, Rejection
from backend.catalogue.pipeline import BatchWriter, fewer_gc_passes
from backend.catalogue.profiles import CollectionProfile, resolve_profiles
from backend.catalogue.sources import PAGE_SIZE, Entry, read_source
from backend.catalogue.validate import ImageRecord, legacy_item_hash, validate_item
from backend.db import connect
from backend.db import queries_catalogue as q
from backend.errors import CbmError, ImageNotFound
from backend.progress import with_progress
from backend.settings import Settings
from backend.storage import raster_env

log = logging.getLogger(__name__)

T = TypeVar("T")
BATCH_SIZE = 500


def add_source(
    settings: Settings,
    source: str,
    *,
    collection: str | None = None,
    kind: str | None = None,
    profile: CollectionProfile | Sequence[CollectionProfile] | str | Path | None = None,
    bbox: Sequence[float] | None = None,
    start: DateLike | None = None,
    end: DateLike | None = None,
    max_cloud: float | None = None,
    batch_size: int = BATCH_SIZE,
    page_size: int = PAGE_SIZE,
    progress: bool | Any = False,
    on_error: Callable[[Rejection], None] | None = None,
) -> AddResult:
    """Import the images of a STAC API, static catalogue, item file(s), NDJSON or folder of COGs.

    Args:
        settings: backend settings (database, object store, provider preference).
        source: STAC API URL, STAC JSON file/URL, NDJSON file, or local folder (see ``sources``).
        collection: collection to search or keep; items without one are assigned to it.
        kind: only profiles of this kind (``s2``, ``bs``, ``c6``).
        profile: custom collection profile(s) or a YAML file of them, tried before the built-ins.
        bbox: (west, south, east, north) in degrees.
        start: first acquisition date (inclusive).
        end: last acquisition date (inclusive; a date means the whole day).
        max_cloud: maximum ``eo:cloud_cover`` in percent.
        batch_size: items per transaction.
        page_size: items per page of a STAC API search.
        progress: True for a tqdm bar, or a tqdm-like object to ``update(1)`` per item.
        on_error: called with each :class:`Rejection` (bad items never stop the import).

    Returns:
        Counts (per profile too) of added, updated, unchanged, skipped and rejected items, of
        duplicates and of jobs created/reset.

    Raises:
        InvalidInput: bad parameters, or the source is not a STAC document or folder.
        NotFound: the STAC API has no collection ``collection``.
        ImageReadError: the source itself cannot be read.
        DatabaseError: the database is unreachable.
    """
    item_filter = ItemFilter.build(bbox, start, end, max_cloud)
    profiles = resolve_profiles(profile, kind)
    asset_keys = {key.split("#")[0] for p in profiles for key in p.assets.values()}
    result = AddResult()

    def reject(rejection: Rejection) -> None:
        log.info("rejected %s", rejection)
        result.rejected.append(rejection)
        result.count(rejection.profile, "rejected")
        if on_error is not None:
            on_error(rejection)

    memo: dict[bytes, BandMap] = {}  # band maps by item shape, for this import's profiles

    def skip(item: StacItem) -> None:
        result.count(_profile_name(item, profiles, collection, memo), "skipped")

    preference = settings.catalogue_provider_preference

    def store(records: list[ImageRecord]) -> AddResult:  # in the writer's thread
        stored = AddResult()
        with conn.transaction():
            _store(conn, records, stored, preference)
        return stored

    with fewer_gc_passes(), raster_env(settings), connect(settings, autocommit=True) as conn:
        entries = read_source(source, collection=collection, item_filter=item_filter,
                              asset_keys=asset_keys, on_skip=skip, page_size=page_size)
        with BatchWriter(store) as writer:  # a batch is stored while the next one is validated
            for batch in _batches(with_progress(entries, progress, desc="catalogue", unit="item"),
                                  batch_size):
                _merge(result, writer.submit(_validate(batch, profiles, collection, reject, memo)))
            _merge(result, writer.finish())
        if result.added or result.updated:
            q.analyze_images(conn)
    log.info("catalogue add %s: %s", source, result)
    return result


def _merge(result: AddResult, stored: AddResult | None) -> None:
    if stored is not None:
        result.merge(stored)


def _profile_name(item: StacItem, profiles: Sequence[CollectionProfile],
                  collection: str | None, memo: dict[bytes, BandMap] | None = None) -> str:
    """The profile an item would get ('' when none fits), without reading any file."""
    try:
        return choose(profiles, item.collection_id or collection, item.id, item.properties,
                      item.assets, memo=memo).profile.name
    except CbmError:
        return ""


def _validate(
    batch: Iterable[Entry], profiles: Sequence[CollectionProfile], collection: str | None,
    reject: Callable[[Rejection], None], memo: dict[bytes, BandMap] | None = None,
) -> list[ImageRecord]:
    """Validated records of a batch, last occurrence winning for repeated items."""
    records: dict[tuple[str, str], ImageRecord] = {}
    for entry in batch:
        if isinstance(entry, Rejection):
            reject(entry)
            continue
        try:
            record = validate_item(entry, profiles, collection, memo=memo)
        except CbmError as exc:
            reject(Rejection(entry.id, str(exc), _profile_name(entry, profiles, collection, memo)))
            continue
        records[(record.collection, record.item_id)] = record
    return list(records.values())


def _same_pixels(old: Mapping[str, str], new: Mapping[str, str]) -> bool:
    """True when band hrefs differ at most in their query string (a SAS token, a signature)."""
    def strip(href: str) -> str:
        return urlsplit(href)._replace(query="", fragment="").geturl()
    return {b: strip(h) for b, h in old.items()} == {b: strip(h) for b, h in new.items()}


def _store(conn: q.Conn, records: Sequence[ImageRecord], result: AddResult,
           preference: Sequence[str]) -> None:
    """Upsert one batch, reset jobs of re-pointed images, mark duplicates, create missing jobs."""
    existing = q.existing_images(conn, [(r.collection, r.item_id) for r in records])
    old_ids = {key: row["id"] for key, row in existing.items()}
    changed = _changed(conn, existing, records)
    previous = q.image_assets(conn, list(changed))  # only the changed items' (large) JSON
    to_write, unchanged_ids, reset_ids = [], [], []
    for rec in records:
        old_id = old_ids.get((rec.collection, rec.item_id))
        if old_id is None:
            result.count(rec.profile, "added")
        elif old_id not in changed:
            result.count(rec.profile, "unchanged")
            unchanged_ids.append(old_id)
            continue
        else:
            result.count(rec.profile, "updated")
            old = previous[old_id]
            old_hrefs = band_hrefs({"properties": {CBM_ASSETS: old["band_map"]},
                                    "assets": old["assets"]})
            if not _same_pixels(old_hrefs, rec.hrefs):
                reset_ids.append(old_id)
        to_write.append(rec)
    ids = q.upsert_images(conn, [_row(r) for r in to_write])
    result.jobs_reset += q.reset_jobs(conn, reset_ids)
    result.duplicates += q.mark_duplicates(conn, ids, list(preference))
    result.jobs_created += q.create_jobs(conn, ids + unchanged_ids)


def _changed(conn: q.Conn, existing: Mapping[tuple[str, str], Mapping[str, Any]],
             records: Sequence[ImageRecord]) -> set[int]:
    """Ids of the catalogued images whose item changed; legacy hashes of unchanged items are renewed."""
    by_key = {(r.collection, r.item_id): r for r in records}
    differ = {row["id"]: (row["item_hash"], by_key[key]) for key, row in existing.items()
              if row["item_hash"] != by_key[key].item_hash}
    legacy = {image_id: rec.item_hash for image_id, (stored, rec) in differ.items()
              if stored == legacy_item_hash(rec.item)}
    q.set_item_hashes(conn, legacy)
    return set(differ) - set(legacy)


def _row(record: ImageRecord) -> dict[str, Any]:
    """The table columns of a record (shallow: ``asdict`` would deep-copy the item JSON).

    The item goes as the JSON text that was hashed (serialised once).
    """
    row = {f.name: getattr(record, f.name) for f in fields(record)
           if f.name not in ("hrefs", "profile", "item_json")}
    if record.item_json:
        row["item"] = record.item_json
    return row


def _batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, max(1, size))):
        yield batch


def list_images(
    settings: Settings, *, kind: str | None = None, collection: str | None = None,
    start: DateLike | None = None, end: DateLike | None = None,
) -> list[dict[str, Any]]:
    """Catalogued images, oldest first, without their item JSON.

    Args:
        settings: backend settings.
        kind: ``s2``, ``bs`` or ``c6``.
        collection: collection id.
        start: first acquisition date (inclusive).
        end: last acquisition date (inclusive; a date means the whole day).

    Returns:
        Dicts with id, item_id, collection, kind, datetime, cloud_cover, epsg, bands,
        bbox (west, south, east, north), added_at, updated_at.
    """
    with connect(settings) as conn:
        return q.list_images(conn, kind=kind, collection=collection,
                             start=to_datetime(start), end=to_datetime(end, end=True))


def get_image(settings: Settings, image_id: int) -> dict[str, Any]:
    """One image with its stored item JSON and footprint (GeoJSON).

    Raises:
        ImageNotFound: no image has this id.
    """
    with connect(settings) as conn:
        row = q.get_image(conn, image_id)
    if row is None:
        raise ImageNotFound(f"no image with id {image_id}")
    return row


def summary(settings: Settings) -> list[dict[str, Any]]:
    """Per collection and kind: n_images, first and last datetime, job counts by status."""
    with connect(settings) as conn:
        return q.summary(conn)
