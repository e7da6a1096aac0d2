"""Object-store faults during extraction: 5xx answers, stalls beyond GDAL's timeout, connections
dropped mid-body, injected by a proxy in front of moto. The run (plus one fault-free rerun if
jobs were left pending) must give the fault-free run's rows exactly: same count, same checksum.
"""

from __future__ import annotations

import uuid

import pytest
from faultproxy import FaultProxy
from relscene import AOI, YEAR, checksum, job_counts, load_s3, record

from backend.extraction.service import extract
from backend.settings import Settings

SCHEDULES = {
    "5xx": lambda n: "5xx" if n % 3 == 1 else "pass",
    "stall": lambda n: "stall" if n in (3, 11) else "pass",
    "drop": lambda n: "drop" if n % 4 == 2 else "pass",
}


@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_s3_faults_lose_and_duplicate_nothing(moto_settings: Settings, moto_s3: str, baseline, s3,
                                              kind: str) -> None:
    with FaultProxy(moto_s3, SCHEDULES[kind], stall_s=3.0) as proxy:
        s = Settings(**{**moto_settings.model_dump(), "s3_endpoint": proxy.endpoint, "http_timeout_s": 1,
                        "http_max_retry": 1, "job_backoff_s": 0, "job_max_attempts": 3})
        proxy.armed = False
        load_s3(s, baseline.root, baseline.items, s3, prefix=f"{kind}-{uuid.uuid4().hex[:8]}")
        proxy.armed = True
        first = extract(s, aoi=AOI, year=YEAR)
        proxy.armed = False
        rerun = extract(Settings(**{**s.model_dump(), "job_max_attempts": 10}), aoi=AOI, year=YEAR,
                        force=bool(first.failed))
    got = checksum(s)
    record("fault", fault=f"s3-{kind}", injected=proxy.injected[kind], requests=proxy.requests,
           retried=first.retried, failed_first=first.failed, rerun_done=rerun.done,
           lost=baseline.checksum["n"] - got["n_distinct"], duplicated=got["n"] - got["n_distinct"],
           survived=got == baseline.checksum)
    assert proxy.injected[kind] > 0, proxy.requests
    assert job_counts(s) == {"done": 3}
    assert got == baseline.checksum
