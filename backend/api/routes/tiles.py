"""Vector tiles of a parcel set (``ST_AsMVT``) for web maps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from backend.api.blind import SetDecisionsPath
from backend.api.deps import Conn, SettingsDep
from backend.api.errors import ERROR_RESPONSES
from backend.parcels import tiles

router = APIRouter(tags=["tiles"], responses=ERROR_RESPONSES)
MVT = "application/vnd.mapbox-vector-tile"


@router.get("/tiles/{aoi}/{year}/{z}/{x}/{y}.mvt", response_class=Response,
            summary="Parcel vector tile (layer `parcels`: id, pid, cropcode, colour)",
            responses={200: {"content": {MVT: {}}}})
def parcel_tile(key: SetDecisionsPath, conn: Conn, settings: SettingsDep,
                z: Annotated[int, Path(ge=0, le=22, description="Zoom.")],
                x: Annotated[int, Path(ge=0, description="Tile column.")],
                y: Annotated[int, Path(ge=0, description="Tile row (XYZ, origin top left).")]) -> Response:
    """Web-Mercator MVT; empty below zoom ``api_tiles_min_zoom``; colour = latest decision, worst first."""
    body = tiles.tile(conn, key, z, x, y, settings.api_tiles_min_zoom)
    return Response(body, media_type=MVT, headers={"Cache-Control": "private, max-age=60"})
