"""Reliability fixtures: the scene, a fault-free baseline checksum, an S3 bucket on moto.

The API fixture reuses the API tests' builder (``tests/apitools.py``), not a copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from relscene import AOI, YEAR, build_scene, checksum, load_local, local_items

from backend.db import connect
from backend.extraction.service import extract
from backend.settings import Settings

TRUNCATE = ("TRUNCATE signatures, parcel_sets, images, users, batch_runs, audit_log, marker_runs "
            "RESTART IDENTITY CASCADE")


@dataclass(frozen=True)
class Baseline:
    """The fault-free run: scene folder, catalogued items and the signature checksum."""

    root: Path
    items: list[dict[str, Any]]
    checksum: dict[str, Any]


@pytest.fixture(scope="session")
def baseline(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Baseline:
    root = tmp_path_factory.mktemp("relscene")
    build_scene(root)
    with connect(settings) as conn:
        conn.execute(TRUNCATE)
    load_local(settings, root)
    report = extract(settings, aoi=AOI, year=YEAR)
    assert (report.done, report.failed) == (3, 0)
    result = Baseline(root, local_items(settings), checksum(settings))
    assert result.checksum["n"] == 12 == result.checksum["n_distinct"]
    with connect(settings) as conn:
        conn.execute(TRUNCATE)
    return result


@pytest.fixture(scope="session")
def s3(moto_s3: str) -> Any:
    """A boto3 S3 client on the moto server with the bucket ``cbm``."""
    import boto3

    client = boto3.client("s3", endpoint_url=f"http://{moto_s3}", aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
    client.create_bucket(Bucket="cbm")
    return client


@pytest.fixture(scope="session")
def rel_api(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The API on its own database with the API tests' tiny area (rate limits out of the way)."""
    from apitools import api_database, running_api

    with (api_database(base_settings, tmp_path_factory.mktemp("relapi"), "cbm_reltest") as s,
          running_api(s) as server):
        yield server
