"""Where photo files live: ``CBM_VAR_DIR/photos`` or an S3 bucket, chosen by ``photo_store``.

A small :class:`PhotoStore` protocol with two implementations; keys are relative paths such as
``3/ab/ab12...ef.jpg`` (set id, hash prefix, hash).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Protocol

from backend.chips.cache import write_atomic
from backend.errors import NotFound
from backend.settings import Settings


class PhotoStore(Protocol):
    """Put, get and delete photo files by key."""

    def put(self, key: str, data: bytes, media_type: str) -> None:
        """Store ``data`` under ``key`` (replacing it)."""

    def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises :class:`NotFound`."""

    def delete(self, key: str) -> None:
        """Remove ``key`` if it exists."""


class LocalStore:
    """Files under a directory, written atomically (temporary file, then rename)."""

    def __init__(self, root: Path) -> None:
        """Store under ``root`` (created on first write)."""
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise NotFound("no such photo file")
        return path

    def put(self, key: str, data: bytes, media_type: str) -> None:
        """Write the file atomically."""
        write_atomic(self._path(key), data)

    def get(self, key: str) -> bytes:
        """Read the file."""
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound("the photo file is missing from the store") from None

    def delete(self, key: str) -> None:
        """Remove the file."""
        self._path(key).unlink(missing_ok=True)


class S3Store:
    """Objects in ``s3://bucket/prefix`` through the configured S3 endpoint."""

    def __init__(self, settings: Settings, url: str) -> None:
        """Connect to the endpoint of ``settings`` (AWS when unset)."""
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        self.bucket, self.prefix = bucket, prefix.strip("/")
        self.client = _client(settings.s3_endpoint, settings.s3_https, settings.s3_region,
                              _secret(settings.s3_access_key_id), _secret(settings.s3_secret_access_key))

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes, media_type: str) -> None:
        """Upload the object."""
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=media_type)

    def get(self, key: str) -> bytes:
        """Download the object."""
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            raise NotFound("the photo file is missing from the store") from None
        return body

    def delete(self, key: str) -> None:
        """Delete the object."""
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


@functools.lru_cache(maxsize=8)
def _client(endpoint: str | None, https: bool, region: str, key: str | None, secret: str | None) -> Any:
    import boto3

    url = f"{'https' if https else 'http'}://{endpoint}" if endpoint else None
    return boto3.client("s3", endpoint_url=url, region_name=region, aws_access_key_id=key,
                        aws_secret_access_key=secret)


def photo_store(settings: Settings) -> PhotoStore:
    """The store named by ``settings.photo_store``."""
    if settings.photo_store.startswith("s3://"):
        return S3Store(settings, settings.photo_store)
    return LocalStore(settings.var_dir / "photos")
