"""Access settings of provider imagery (issue 17): Planetary Computer SAS signing against a
token service on loopback, requester-pays S3 in the GDAL session."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from backend import storage
from backend.errors import ImageReadError
from backend.settings import Settings

BLOB = "https://sentinel2l2a01.blob.core.windows.net/sentinel2-l2/33/U/WP/2025/03/12/B04_10m.tif"


class _Tokens(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Tokens.requests.append(self.path)
        if "refuse" in self.path:
            self.send_response(403)
            self.end_headers()
            return
        body = json.dumps({"msft:expiry": "2099-01-01T00:00:00Z", "token": "st=x&se=y&sp=rl&sig=abc%3D"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def token_service(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The planetary-computer SDK pointed (PC_SDK_SAS_URL) at a token service on loopback."""
    import planetary_computer.sas
    import planetary_computer.settings

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tokens)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/sas/v1/token"
    monkeypatch.setenv("PC_SDK_SAS_URL", url)
    planetary_computer.settings.Settings.get.cache_clear()
    planetary_computer.sas.TOKEN_CACHE.clear()
    _Tokens.requests.clear()
    yield url
    server.shutdown()
    planetary_computer.settings.Settings.get.cache_clear()
    planetary_computer.sas.TOKEN_CACHE.clear()


def test_planetary_computer_hrefs_are_signed_once_per_container(token_service: str) -> None:
    signed = storage.planetary_computer_sign(BLOB)
    assert signed == BLOB + "?st=x&se=y&sp=rl&sig=abc%3D"
    assert storage.planetary_computer_sign(BLOB.replace("B04", "B08")).endswith("sig=abc%3D")
    assert _Tokens.requests == ["/api/sas/v1/token/sentinel2l2a01/sentinel2-l2"]  # token cached
    assert storage.planetary_computer_sign(signed) == signed  # already signed: as it is
    assert storage.planetary_computer_sign("s3://eodata/x.jp2") == "s3://eodata/x.jp2"


def test_signing_only_inside_an_env_that_asks_for_it(token_service: str, tmp_path) -> None:
    base = Settings(demo_mode=True, var_dir=tmp_path)
    seen: list[str] = []
    with storage.raster_env(base.model_copy(update={"pc_sign": True})):
        signer = storage._SIGNER.get()
        assert signer is not None
        seen.append(signer(BLOB))
    assert storage._SIGNER.get() is None
    with storage.raster_env(base):
        assert storage._SIGNER.get() is None
    assert seen == [BLOB + "?st=x&se=y&sp=rl&sig=abc%3D"]


def test_refused_token_is_a_clear_read_error(token_service: str) -> None:
    with pytest.raises(ImageReadError, match=r"cannot sign .* Planetary Computer SAS token"):
        storage.planetary_computer_sign("https://refuse.blob.core.windows.net/c/a.tif")


def test_requester_pays_is_sent_by_the_gdal_session(tmp_path) -> None:
    base = Settings(demo_mode=True, var_dir=tmp_path, s3_access_key_id="k", s3_secret_access_key="s")
    assert "AWS_REQUEST_PAYER" not in storage.aws_session(base).get_credential_options()
    paying = storage.aws_session(base.model_copy(update={"s3_request_payer": True}))
    assert paying.get_credential_options()["AWS_REQUEST_PAYER"] == "requester"
