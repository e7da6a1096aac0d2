"""Request body limit before authentication (issue 26): a real HTTP client sending a large body.

``http.client`` sends the request head and only part of the body, then waits for the answer:
the server must answer 413 without the rest (it never arrives), and before checking the
password (a wrong one gets 413, not 401). Without the limit FastAPI reads and spools the whole
multipart body before it resolves the route's authentication.
"""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit

from apitools import PASSWORDS, Server

from backend.api.body_limit import MULTIPART_SLACK

MB = 1024 * 1024


def _open(api: Server, path: str, who: str, password: str,
          headers: dict[str, str]) -> http.client.HTTPConnection:
    url = urlsplit(api.url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    conn.putrequest("POST", path)
    token = base64.b64encode(f"{who}:{password}".encode()).decode()
    for name, value in {"Authorization": f"Basic {token}", **headers}.items():
        conn.putheader(name, value)
    conn.endheaders()
    return conn


def _answer(conn: http.client.HTTPConnection) -> tuple[int, str]:
    response = conn.getresponse()
    status, detail = response.status, json.loads(response.read())["detail"]
    conn.close()
    return status, detail


def test_declared_oversize_upload_refused_before_password_and_body(api: Server) -> None:
    multipart = {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": str(2_000 * MB)}
    for password in ("wrong-password", PASSWORDS["consumer"]):
        conn = _open(api, "/photos", "consumer", password, multipart)
        conn.send(b"--xyz\r\n" + b"\0" * (256 * 1024))  # 256 KiB of the 2 GB declared, then wait
        status, detail = _answer(conn)
        assert status == 413, detail
        assert f"declares {2_000 * MB} bytes" in detail and "CBM_PHOTO_MAX_BYTES" in detail
    json_body = {"Content-Type": "application/json", "Content-Length": str(5 * MB)}
    conn = _open(api, "/sets/tt/2025/reviews", "consumer", "wrong-password", json_body)
    conn.send(b"{")
    status, detail = _answer(conn)
    assert status == 413 and "CBM_API_MAX_BODY_BYTES" in detail


def test_chunked_upload_refused_once_over_the_limit(api: Server) -> None:
    limit = api.settings.photo_max_bytes + MULTIPART_SLACK
    conn = _open(api, "/photos", "consumer", "wrong-password",
                 {"Content-Type": "multipart/form-data; boundary=xyz", "Transfer-Encoding": "chunked"})
    head = (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n")
    conn.send(f"{len(head):x}\r\n".encode() + head + b"\r\n")
    chunk = b"\0" * MB
    for _ in range(limit // MB + 2):  # just over the limit, and never the final empty chunk
        conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
    status, detail = _answer(conn)
    assert status == 413 and "sends a body" in detail and str(limit) in detail


def test_small_body_still_needs_the_password(api: Server) -> None:
    conn = _open(api, "/photos", "consumer", "wrong-password",
                 {"Content-Type": "multipart/form-data; boundary=xyz", "Content-Length": "9"})
    conn.send(b"--xyz--\r\n")
    assert _answer(conn)[0] == 401
