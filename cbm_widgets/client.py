"""A small typed HTTP client of the CbM REST API (``requests``, HTTP Basic).

The widgets never touch SQL or rasters: everything they show comes through this client, so
dashboards honour the API's users, grants and limits. Errors become the exceptions of
:mod:`cbm_widgets.errors` with the API's own message.

Example::

    client = CbmClient()                       # CBM_API_URL, CBM_API_USER, CBM_API_PASSWORD
    parcel = client.parcel("demo", 2025, "P000001")
    s2 = client.time_series("demo", 2025, "P000001", "s2")
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import requests

from cbm_widgets import errors
from cbm_widgets.models import Chip, DecisionPage, Parcel, Peer
from cbm_widgets.settings import ClientSettings

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
RECENT_S = 10.0
"""Seconds a parcel's identity and decisions are kept: the widgets of a page ask for them together."""
RECENT_MAX = 32

_STATUS_ERRORS: dict[int, type[errors.CbmApiError]] = {
    400: errors.InvalidRequest, 401: errors.AuthenticationFailed, 403: errors.AccessDenied,
    404: errors.NotFound, 422: errors.InvalidRequest, 429: errors.RateLimited,
}


def _detail(response: requests.Response) -> str:
    """The API's ``detail`` message (validation errors: the first one, with its parameter)."""
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", [])[1:])
        return f"{where}: {first.get('msg', 'invalid value')}" if where else str(first.get("msg"))
    return str(detail) if detail else (response.reason or f"HTTP {response.status_code}")


def raise_for_status(response: requests.Response) -> None:
    """Turn a 4xx/5xx answer into the matching :class:`~cbm_widgets.errors.CbmApiError`."""
    status = response.status_code
    if status < 400:
        return
    message = _detail(response)
    if status >= 500:
        raise errors.ApiUnavailable(f"The CbM service failed ({status}): {message}", status=status)
    cls = _STATUS_ERRORS.get(status, errors.InvalidRequest)
    if cls is errors.RateLimited:
        retry = float(response.headers.get("Retry-After", "1") or 1)
        raise errors.RateLimited(f"Too many requests; retry in {retry:g} s ({message})", status=status,
                                 retry_after=retry)
    if cls is errors.AuthenticationFailed:
        message = f"Login to the CbM service failed: {message}"
    raise cls(message, status=status)


class CbmClient:
    """Typed access to the CbM API.

    Args:
        url: API base URL; default ``CBM_API_URL``.
        user: username; default ``CBM_API_USER``.
        password: password; default ``CBM_API_PASSWORD``.
        timeout: seconds per request; default ``CBM_API_TIMEOUT`` (30).
        session: a ``requests.Session`` to reuse (tests, connection pooling).
        recent_s: seconds a parcel's identity and decisions are kept (``RECENT_S``; 0: never).
            The map, card, chart and chips of one page all ask for them when a parcel is
            selected; they change only with an import or a marker run. Any POST forgets them.

    A client without an API URL can be built (so a dashboard still renders); its first request
    raises :class:`~cbm_widgets.errors.ConfigurationError`.
    """

    def __init__(self, url: str | None = None, user: str | None = None, password: str | None = None, *,
                 timeout: float | None = None, session: requests.Session | None = None,
                 recent_s: float = RECENT_S) -> None:
        env = ClientSettings(**{})  # reads CBM_API_* from the environment
        self.url = (url or env.url).rstrip("/")
        self.timeout = timeout or env.timeout
        self.session = session or requests.Session()
        self.session.auth = (user if user is not None else env.user,
                             password if password is not None else env.password.get_secret_value())
        self.recent_s = recent_s
        self._recent: dict[tuple[Any, ...], tuple[float, Any]] = {}

    def __repr__(self) -> str:
        return f"CbmClient({self.url!r}, user={self.session.auth[0]!r})"  # type: ignore[index]

    # ------------------------------------------------------------------ recent answers
    def _remembered(self, key: tuple[Any, ...], fetch: Callable[[], Any]) -> Any:
        """``fetch()``, or its answer of less than ``recent_s`` ago (a deep copy: callers may change it)."""
        hit = self._recent.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.recent_s:
            return copy.deepcopy(hit[1])
        value = fetch()
        self._remember(key, value)
        return copy.deepcopy(value)

    def _remember(self, key: tuple[Any, ...], value: Any) -> None:
        if self.recent_s <= 0:
            return
        if len(self._recent) >= RECENT_MAX:
            del self._recent[min(self._recent, key=lambda k: self._recent[k][0])]
        self._recent[key] = (time.monotonic(), copy.deepcopy(value))

    def forget(self) -> None:
        """Drop the recent answers (the next requests ask the API again)."""
        self._recent.clear()

    # ------------------------------------------------------------------ transport
    def get(self, path: str, **params: Any) -> requests.Response:
        """GET ``path`` (relative to the API URL) with query parameters; errors raised as CbmApiError."""
        if not self.url:
            raise errors.ConfigurationError("No CbM API address: set CBM_API_URL (e.g. http://127.0.0.1:8000).")
        url = path if path.startswith("http") else f"{self.url}{path}"
        query = {k: v for k, v in params.items() if v is not None}
        try:
            response = self.session.get(url, params=query, timeout=self.timeout)
        except requests.Timeout:
            message = f"The CbM service did not answer within {self.timeout:g} s."
            raise errors.ApiUnavailable(message) from None
        except requests.RequestException as exc:
            log.warning("API request to %s failed: %s", url, exc)
            raise errors.ApiUnavailable("The CbM service cannot be reached; try again later.") from None
        raise_for_status(response)
        return response

    def get_json(self, path: str, **params: Any) -> Any:
        """GET and decode JSON."""
        return self.get(path, **params).json()

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body to ``path`` and decode the JSON answer; errors raised as CbmApiError."""
        return self._post(path, json=body)

    def post_file(self, path: str, name: str, content: bytes,
                  media_type: str = "application/octet-stream") -> Any:
        """POST a file as the multipart form field ``file`` and decode the JSON answer."""
        return self._post(path, files={"file": (name, content, media_type or "application/octet-stream")})

    def _post(self, path: str, **body: Any) -> Any:
        if not self.url:
            raise errors.ConfigurationError("No CbM API address: set CBM_API_URL (e.g. http://127.0.0.1:8000).")
        self.forget()  # what it changes may be among them
        try:
            response = self.session.post(f"{self.url}{path}", timeout=self.timeout, **body)
        except requests.RequestException as exc:
            log.warning("API request to %s failed: %s", path, exc)
            raise errors.ApiUnavailable("The CbM service cannot be reached; try again later.") from None
        raise_for_status(response)
        return response.json()

    def fetch_bytes(self, url: str) -> bytes:
        """Download a file the API pointed to (signed chip URLs; relative paths are joined to the API)."""
        absolute = urljoin(self.url + "/", url)
        same_host = urlsplit(absolute).netloc == urlsplit(self.url).netloc
        if not same_host:
            host = urlsplit(absolute).netloc
            raise errors.InvalidRequest(f"refusing to download from another host: {host}")
        return self.get(absolute).content

    # ------------------------------------------------------------------ JRC /query endpoints
    def info(self) -> dict[str, Any]:
        """What the user may read: ``{"aois": {aoi: {"years": [...]}}, "tstypes": {...}}``."""
        result: dict[str, Any] = self.get_json("/query/info")
        return result

    def parcel(self, aoi: str, year: int, pid: str) -> Parcel:
        """A parcel by agency id, with its WGS84 geometry.

        Raises:
            NotFound: no parcel with this id in the set.
        """
        data = self._remembered(("parcel", aoi, year, pid), lambda: self.get_json(
            "/query/parcelByID", aoi=aoi, year=year, pid=pid, withGeometry="True", wgs84="True"))
        if not data or not data.get("pid"):
            raise errors.NotFound(f"No parcel {pid!r} in {aoi} {year}.")
        return Parcel.from_columns(data)

    def parcel_at(self, aoi: str, year: int, lon: float, lat: float) -> Parcel:
        """The parcel containing a WGS84 point.

        Raises:
            NotFound: no parcel there.
        """
        data = self.get_json("/query/parcelByLocation", aoi=aoi, year=year, lon=lon, lat=lat,
                             withGeometry="True", wgs84="True")
        if not data or not data.get("pid"):
            raise errors.NotFound(f"No parcel of {aoi} {year} at {lat:.5f}, {lon:.5f}.")
        self._remember(("parcel", aoi, year, str(data["pid"][0])), data)  # the card asks for it next
        return Parcel.from_columns(data)

    def parcels_in(self, aoi: str, year: int, bbox: tuple[float, float, float, float]) -> list[Parcel]:
        """Parcels intersecting a WGS84 box ``(west, south, east, north)``, with geometry."""
        w, s, e, n = bbox
        wkt = f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"
        data = self.get_json("/query/parcelsByPolygon", aoi=aoi, year=year, polygon=wkt,
                             withGeometry="True", wgs84="True")
        return [Parcel.from_columns(data, i) for i in range(len(data.get("pid", [])))]

    def peers(self, aoi: str, year: int, pid: str, *, distance: float = 2000.0,
              max_peers: int = 10) -> list[Peer]:
        """Same-crop parcels within ``distance`` metres, nearest first."""
        data = self.get_json("/query/parcelPeers", aoi=aoi, year=year, pid=pid, distance=distance,
                             max=max_peers)
        return [Peer(str(p), float(d)) for p, d in zip(data.get("pids", []), data.get("distance", []),
                                                       strict=False)]

    def time_series(self, aoi: str, year: int, pid: str, tstype: str = "s2") -> pd.DataFrame:
        """A parcel's time series, one row per date and band (``date`` as UTC timestamps).

        Columns: ``date band count mean std min p25 p50 p75 max`` and, for S2, ``hist``.
        Empty (with these columns) when the parcel has no observations.
        """
        import pandas as pd  # lazily: importing pandas costs about a second

        data = self.get_json("/query/parcelTimeSeries", aoi=aoi, year=year, pid=pid, tstype=tstype)
        frame = pd.DataFrame.from_dict(data or {"date_part": [], "band": []}, orient="columns")
        frame["date"] = pd.to_datetime(frame["date_part"].astype(float), unit="s", utc=True)
        return frame

    def chips(self, lon: float, lat: float, start: date, end: date, *, style: str = "truecolor",
              size: int = 256, lut: str | None = None) -> list[Chip]:
        """PNG chips of the images between two dates around a point (``chipsByLocation``)."""
        data = self.get_json("/query/chipsByLocation", lon=lon, lat=lat, start_date=start.isoformat(),
                             end_date=end.isoformat(), band=style, chipsize=size, lut=lut)
        chips = []
        for item in data or []:
            cloud = item.get("cloud_fraction", item.get("cloud"))
            chips.append(Chip(date.fromisoformat(str(item["date"])[:10]), str(item["url"]),
                              None if cloud is None else float(cloud)))
        return chips

    # ------------------------------------------------------------------ new endpoints
    def parcel_chips(self, aoi: str, year: int, pid: str, start: date, end: date, *, style: str = "truecolor",
                     size: int = 128, slots: int | None = None) -> list[Chip]:
        """Outlined PNG chips of a parcel, sized to it; at most ``slots`` (the clearest per time slot)."""
        data = self.get_json("/parcels/chips", aoi=aoi, year=year, pid=pid, start_date=start.isoformat(),
                             end_date=end.isoformat(), style=style, chipsize=size, slots=slots)
        return [Chip(date.fromisoformat(str(item["date"])[:10]), str(item["url"]),
                     _fraction(item.get("cloud_fraction")), _fraction(item.get("nodata_fraction")))
                for item in data.get("chips", [])]

    def decisions(self, aoi: str, year: int, pid: str) -> dict[str, Any]:
        """``{"pid", "colour" (worst), "decisions": [{condition, colour, reason, evidence, ...}]}``."""
        result: dict[str, Any] = self._remembered(("decisions", aoi, year, pid), lambda: self.get_json(
            "/parcels/decisions", aoi=aoi, year=year, pid=pid))
        return result

    def markers(self, aoi: str, year: int, pid: str) -> list[dict[str, Any]]:
        """Marker results of the latest run (``marker start_date end_date value confidence evidence``)."""
        result: list[dict[str, Any]] = self.get_json("/parcels/markers", aoi=aoi, year=year,
                                                     pid=pid).get("markers", [])
        return result

    def set_summary(self, aoi: str, year: int) -> dict[str, Any]:
        """Counts of a parcel set: parcels, crops, images, decisions per colour, bbox."""
        result: dict[str, Any] = self.get_json(f"/sets/{aoi}/{year}")
        return result

    def decision_page(self, aoi: str, year: int, *, colour: str | None = None, condition: str | None = None,
                      crop: str | None = None, offset: int = 0, limit: int = 20) -> DecisionPage:
        """One page of a set's decisions with filters, and the counts per condition and colour."""
        data = self.get_json(f"/sets/{aoi}/{year}/decisions", colour=colour or None,
                             condition=condition or None, crop=crop or None, offset=offset, limit=limit)
        return DecisionPage(rows=list(data.get("rows", [])), total=int(data.get("total", 0)),
                            counts=dict(data.get("counts", {})))

    # ------------------------------------------------------------------ reviews and downloads
    def review(self, aoi: str, year: int, pid: str, condition: str, verdict: str, *,
               colour: str | None = None, reason: str = "", comment: str = "",
               photo_ids: list[int] | None = None) -> dict[str, Any]:
        """Record a verdict (``confirm``, ``override`` with ``colour`` and ``reason``, ``field_visit``).

        ``photo_ids``: photos of the parcel cited as the reason of the verdict.

        Raises:
            InvalidRequest: an override without colour or reason, a photo of another parcel (the
                API's message says which).
        """
        body = {"pid": pid, "condition": condition, "verdict": verdict, "colour": colour, "reason": reason,
                "comment": comment, "photo_ids": list(photo_ids or [])}
        result: dict[str, Any] = self.post_json(f"/sets/{aoi}/{year}/reviews", body)
        return result

    def reviews(self, aoi: str, year: int, pid: str) -> dict[str, Any]:
        """A parcel's verdicts: ``{"history": [newest first], "latest": {condition: verdict}}``."""
        result: dict[str, Any] = self.get_json(f"/sets/{aoi}/{year}/reviews", pid=pid)
        return result

    def photos(self, aoi: str, year: int, pid: str | None = None, *, offset: int = 0,
               limit: int = 1000) -> dict[str, Any]:
        """A parcel's geotagged photos (the set's without ``pid``), paged.

        ``total`` and ``photos``: metadata, checks and signed ``url`` / ``thumbnail_url`` (fetch
        them with :meth:`fetch_bytes`).
        """
        path = f"/sets/{aoi}/{year}/photos"
        result: dict[str, Any] = self.get_json(path, pid=pid, offset=offset, limit=limit)
        return result

    def queue(self, aoi: str, year: int, **query: Any) -> dict[str, Any]:
        """One page of the review queue (``condition colour crop reviewed sort order offset limit``)."""
        result: dict[str, Any] = self.get_json(f"/sets/{aoi}/{year}/queue", **_query(query))
        return result

    def neighbours(self, aoi: str, year: int, pid: str, **query: Any) -> dict[str, Any]:
        """``previous``/``next`` pid and ``position`` of ``pid`` in the queue with the same filters."""
        path = f"/sets/{aoi}/{year}/queue/neighbours"
        result: dict[str, Any] = self.get_json(path, pid=pid, **_query(query))
        return result

    def download(self, aoi: str, year: int, pid: str, kind: str) -> tuple[str, bytes]:
        """A parcel's file for download: ``kind`` is ``csv``, ``gpkg`` or ``html`` (evidence sheet).

        Returns the API's file name and the content.
        """
        if kind == "html":
            response = self.get("/parcels/evidence.html", aoi=aoi, year=year, pid=pid, download="true")
        else:
            response = self.get(f"/sets/{aoi}/{year}/decisions.{kind}", pid=pid)
        disposition = response.headers.get("content-disposition", "")
        name = disposition.split('filename="', 1)[-1].rstrip('"') if "filename=" in disposition else ""
        return name or f"{aoi}_{year}_{pid}.{kind}", response.content

    def tile_url(self, aoi: str, year: int) -> str:
        """URL template of the set's vector tiles (``{z}/{x}/{y}``)."""
        return f"{self.url}/tiles/{aoi}/{year}/{{z}}/{{x}}/{{y}}.mvt"


def _fraction(value: Any) -> float | None:
    return None if value is None else float(value)


def _query(query: dict[str, Any]) -> dict[str, Any]:
    """Queue parameters for the API: empty filters dropped, booleans as ``true``/``false``."""
    return {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in query.items()
            if v is not None and v != ""}
