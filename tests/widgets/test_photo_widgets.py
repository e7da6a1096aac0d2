"""Geotagged photos in the widgets (issue 26 item 3), at the traitlet level against the real API.

Photos are uploaded through ``POST /photos`` into parcels A (two: one inside looking east, one
10 m west of it declared for A looking west, which fails the direction check) and B (one).
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from apitools import PARCELS, Server
from gridtools import rect
from phototools import jpeg, wgs84
from PIL import Image
from pyproj import Geod

from backend.db import connect
from backend.parcels.sets import ParcelSetKey
from backend.qa import inspectors
from backend.qa.samples import draw_sample
from backend.qa.sampling import SampleSpec
from cbm_widgets import CbmClient, ParcelCard, ParcelMap
from cbm_widgets import map_layers as ml
from cbm_widgets.errors import InvalidRequest
from cbm_widgets.qa import QaInspection

A, B = rect(*PARCELS["A"]), rect(*PARCELS["B"])


@pytest.fixture(scope="module")
def uploaded(widget_api: Server) -> dict[str, Any]:
    """The photos as the API answered their upload, and their bytes."""
    bodies = {"inside": jpeg(lonlat=wgs84(A.centroid.x, A.centroid.y), bearing=90, seed=101, size=(900, 600)),
              "west": jpeg(lonlat=wgs84(A.bounds[0] - 10, A.centroid.y), bearing=270, seed=102),
              "b": jpeg(lonlat=wgs84(B.centroid.x, B.centroid.y), seed=103)}
    out: dict[str, Any] = {}
    with widget_api.client("consumer") as c:
        for name, data in bodies.items():
            form = {"pid": "A", "aoi": "tt", "year": "2025"} if name == "west" else {}
            r = c.post("/photos", files={"file": ("p.jpg", data, "image/jpeg")}, data=form)
            assert r.status_code == 201, r.text
            out[name] = {**r.json(), "data": data}
    return out


def test_card_shows_thumbnails_with_checks_and_the_original_on_click(client: CbmClient,
                                                                     uploaded: dict[str, Any]) -> None:
    card = ParcelCard(client, aoi="tt", year=2025, parcel_id="A")
    strip = card.photos
    inside, west = uploaded["inside"], uploaded["west"]
    assert strip.error == "" and strip.total == 2 and strip.layout.display is None
    assert [p["id"] for p in strip.photos] == [inside["id"], west["id"]]  # A's photos only, in order taken
    thumbs = [box.children[0] for box in strip.thumbs.children]
    for thumb in thumbs:
        img = Image.open(io.BytesIO(bytes(thumb.value)))
        assert img.format == "JPEG" and not img.getexif()
    assert Image.open(io.BytesIO(bytes(thumbs[0].value))).size == (512, 341)  # 900 x 600 down to 512
    labels = [box.children[1].value for box in strip.thumbs.children]
    assert f"Photo {inside['id']}" in labels[0] and "90°" in labels[0] and "✗ direction" not in labels[0]
    assert "✗ direction" in labels[1] and "✓ position" in labels[1]
    strip.thumbs.children[0].children[2].click()  # "Full size"
    assert strip.viewing == inside["id"]
    assert bytes(strip.viewer.children[1].value) == inside["data"]  # the original as uploaded
    strip.viewer.children[0].children[1].click()  # "Close"
    assert strip.viewing == 0 and strip.viewer.children == ()
    assert ParcelCard(client, aoi="tt", year=2025, parcel_id="C").photos.layout.display == "none"


def test_review_cites_the_ticked_photos_and_history_keeps_them(client: CbmClient,
                                                               uploaded: dict[str, Any]) -> None:
    card = ParcelCard(client, aoi="tt", year=2025, parcel_id="A")
    panel = card.review
    inside, west = uploaded["inside"]["id"], uploaded["west"]["id"]
    assert [p["id"] for p in panel.photos] == [inside, west]
    panel.cite_photos([west])
    assert panel.cited == [west]
    panel.reason.value = "the photo shows the grass uncut"
    panel.buttons[0].click()  # Confirm
    assert panel.error == "" and f"citing photo {west}" in panel.saved.value
    assert panel.history[0]["photo_ids"] == [west] and f"(cites photo {west})" in panel.list.value
    assert panel.cited == []  # unticked after the save
    again = ParcelCard(client, aoi="tt", year=2025, parcel_id="A").review  # a reload
    assert again.history[0]["photo_ids"] == [west] and f"(cites photo {west})" in again.list.value
    # a stale list offering B's photo: the API refuses, the panel says why, nothing stored
    panel.photos = [uploaded["b"]]
    panel.cite_photos([uploaded["b"]["id"]])
    before = len(panel.history)
    panel.buttons[0].click()
    assert "not a photo of parcel A" in panel.error and "Saved" not in panel.saved.value
    assert len(client.reviews("tt", 2025, "A")["history"]) == before
    with pytest.raises(InvalidRequest, match="no photo 987654 in tt 2025"):
        client.review("tt", 2025, "A", "mown_once", "confirm", photo_ids=[987654])


def test_map_draws_the_parcels_photos_as_points_with_direction_wedges(client: CbmClient,
                                                                      uploaded: dict[str, Any]) -> None:
    m = ParcelMap(client, aoi="tt", year=2025, parcel_id="A")
    features = m.photos_layer.data["features"]
    inside = uploaded["inside"]
    assert [(f["properties"]["photo"], f["properties"]["kind"]) for f in features] == [
        (inside["id"], "point"), (inside["id"], "wedge"), (uploaded["west"]["id"], "point"),
        (uploaded["west"]["id"], "wedge")]
    assert features[0]["geometry"]["coordinates"] == [inside["lon"], inside["lat"]]
    ring = features[1]["geometry"]["coordinates"][0]
    geod = Geod(ellps="WGS84")
    azimuths, _, dists = geod.inv([inside["lon"]] * 9, [inside["lat"]] * 9, [p[0] for p in ring[1:10]],
                                  [p[1] for p in ring[1:10]])
    assert azimuths[4] == pytest.approx(90, abs=0.5) and azimuths[0] == pytest.approx(70, abs=0.5)
    assert azimuths[8] == pytest.approx(110, abs=0.5) and all(d == pytest.approx(25, rel=0.01) for d in dists)
    assert ml.photo_style(features[2])["fillColor"] == ml.PHOTO_FAILED  # the west photo fails a check
    assert ml.photo_style(features[0])["fillColor"] == ml.PHOTO
    m.parcel_id = ""
    assert m.photos_layer.data["features"] == [] and m.photos == []


def test_photo_features_without_bearing_or_position() -> None:
    photos = [{"id": 1, "lon": 5.0, "lat": 52.0, "bearing": None, "failed": []},
              {"id": 2, "lon": None, "lat": None, "bearing": 10.0, "failed": ["gps"]}]
    found = ml.photo_features(photos)
    assert [(f["properties"]["photo"], f["geometry"]["type"]) for f in found] == [(1, "Point")]


def test_qa_inspection_shows_the_sampled_parcels_photos(widget_api: Server, client: CbmClient,
                                                        uploaded: dict[str, Any]) -> None:
    key = ParcelSetKey("tt", 2025)
    with connect(widget_api.settings) as conn:
        sample = int(draw_sample(conn, key, SampleSpec(("mown_once",), size=2, seed=7), created_by="t")["id"])
        inspectors.assign(conn, key, sample, ["consumer"], assigned_by="t")
    try:
        panel = QaInspection(client, aoi="tt", year=2025, sample_id=sample)
        panel.load()
        panel.units.value = "A|mown_once"
        assert [p["id"] for p in panel.photos.photos] == [uploaded["inside"]["id"], uploaded["west"]["id"]]
        shown = "".join(box.children[1].value for box in panel.photos.thumbs.children)
        assert "✗ direction" in shown and "red" not in shown + panel.photos.heading.value  # still blind
        panel.units.value = "B|mown_once"
        assert [p["id"] for p in panel.photos.photos] == [uploaded["b"]["id"]]
    finally:  # an open unit would hide A's and B's decisions from the consumer in other tests
        with connect(widget_api.settings) as conn:
            conn.execute("DELETE FROM qa_inspectors WHERE sample_id = %s", (sample,))
