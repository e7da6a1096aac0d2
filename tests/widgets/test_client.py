"""CbmClient against the real API: typed results and one exception per failure status."""

from __future__ import annotations

from datetime import date

import pytest
from apitools import PASSWORDS, Server, lonlat

from cbm_widgets import (
    AccessDenied,
    ApiUnavailable,
    AuthenticationFailed,
    CbmClient,
    ConfigurationError,
    NotFound,
)
from cbm_widgets.errors import InvalidRequest


def test_parcel_and_time_series(client: CbmClient) -> None:
    parcel = client.parcel("tt", 2025, "A")
    assert parcel.pid == "A" and parcel.cropname == "Wheat" and parcel.area == 8000
    assert parcel.geometry is not None and parcel.geometry["type"] in ("Polygon", "MultiPolygon")
    assert client.parcel_at("tt", 2025, *lonlat("C")).pid == "C"
    s2 = client.time_series("tt", 2025, "A", "s2")
    assert set(s2["band"]) == {"B02", "B03", "B04", "B05", "B08", "B11"}
    assert s2["date"].nunique() == 2 and "hist" in s2
    assert [p.pid for p in client.peers("tt", 2025, "A")] == ["B", "C"]


def test_chips_are_listed_and_downloaded(client: CbmClient) -> None:
    chips = client.chips(*lonlat("A"), date(2025, 6, 1), date(2025, 6, 30), size=32)
    assert [c.date for c in chips] == [date(2025, 6, 1), date(2025, 6, 11)]
    assert client.fetch_bytes(chips[0].url).startswith(b"\x89PNG")


def test_not_found(client: CbmClient) -> None:
    with pytest.raises(NotFound, match="No parcel 'nope'"):
        client.parcel("tt", 2025, "nope")
    with pytest.raises(NotFound):
        client.parcel_at("tt", 2025, 0.0, 0.0)


def test_status_errors(widget_api: Server) -> None:
    with pytest.raises(AuthenticationFailed, match="Login"):
        CbmClient(widget_api.url, "consumer", "wrong-password").parcel("tt", 2025, "A")
    with pytest.raises(AccessDenied, match="no access"):
        CbmClient(widget_api.url, "outsider", PASSWORDS["outsider"]).parcel("tt", 2025, "A")
    with pytest.raises(InvalidRequest):
        CbmClient(widget_api.url, "consumer", PASSWORDS["consumer"]).parcel("TT!", 2025, "A")


def test_unreachable_and_unconfigured(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ApiUnavailable, match="cannot be reached"):
        CbmClient("http://127.0.0.1:9", "u", "p", timeout=2).info()
    monkeypatch.delenv("CBM_API_URL", raising=False)
    with pytest.raises(ConfigurationError, match="CBM_API_URL"):
        CbmClient().info()


def test_credentials_from_environment(widget_api: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CBM_API_URL", widget_api.url)
    monkeypatch.setenv("CBM_API_USER", "consumer")
    monkeypatch.setenv("CBM_API_PASSWORD", PASSWORDS["consumer"])
    assert "tt" in CbmClient().info()["aois"]


def test_refuses_files_from_other_hosts(client: CbmClient) -> None:
    with pytest.raises(InvalidRequest, match="another host"):
        client.fetch_bytes("http://example.org/x.png")
