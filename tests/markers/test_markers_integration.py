"""Markers and decisions end to end on a small SYNTHETIC demo area in the real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.catalogue import add_source
from backend.db import connect
from backend.db import queries_markers as q
from backend.demo import build_demo
from backend.extraction.service import extract
from backend.markers import explain, load_catalogue, replay, run_markers
from backend.parcels import import_parcels
from backend.parcels.sets import ParcelSetKey, resolve_set
from backend.settings import Settings

CATALOGUE = Path(__file__).resolve().parents[2] / "backend" / "markers" / "catalogues" / "demo_2025.yaml"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    build_demo(out, seed=7, n_parcels=40, n_s2_dates=40, n_s1_dates=40)
    return out


@pytest.fixture()
def loaded(clean_db: Settings, demo_dir: Path) -> Settings:
    # the demo set has broken rows on purpose
    import_parcels(clean_db, demo_dir / "parcels.gpkg", aoi="mk", year=2025, skip_invalid=True)
    add_source(clean_db, str(demo_dir / "stac" / "catalog.json"))
    extract(clean_db, aoi="mk", year=2025)
    return clean_db


def _rows(s: Settings, run_id: int) -> list[tuple]:
    with connect(s) as conn:
        return [(r["pid"], r["condition"], r["colour"], r["reason"], r["evidence"], r["rule_version"])
                for r in q.run_decisions(conn, run_id)]


def test_decisions_for_every_parcel_and_condition_replay_and_rerun(loaded: Settings) -> None:
    cat = load_catalogue(CATALOGUE)
    first = run_markers(loaded, aoi="mk", year=2025, catalogue=CATALOGUE)
    with connect(loaded) as conn:
        parcels = q.parcels(conn, resolve_set(conn, ParcelSetKey("mk", 2025))["id"])
        decisions = q.run_decisions(conn, first.run_id)
    expected = {(p["pid"], c.id) for p in parcels for c in cat.conditions if c.applies(p["cropcode"])}
    got = [(d["pid"], d["condition"]) for d in decisions]
    assert len(got) == len(set(got)) and set(got) == expected
    assert {c.id for c in cat.conditions} == {c for _, c in got}
    for d in decisions:
        ev = json.loads(d["evidence"])
        assert replay(ev) == (d["colour"], d["reason"])
        assert ev["catalogue"]["version"] == cat.version
        assert ev["inputs"]["signatures_sha256"] == first.input_hash
        assert ev["marker_versions"] and ev["thresholds"] and "s2_clear_days" in ev["observations"]
    second = run_markers(loaded, aoi="mk", year=2025, catalogue=CATALOGUE)
    assert second.run_id != first.run_id and second.input_hash == first.input_hash
    assert _rows(loaded, second.run_id) == _rows(loaded, first.run_id)


def test_explain_tells_the_story(loaded: Settings) -> None:
    run_markers(loaded, aoi="mk", year=2025, catalogue=CATALOGUE)
    text = explain(loaded, aoi="mk", year=2025, pid="P000001")
    assert text.startswith("Parcel P000001 (mk 2025), declared")
    assert "Decisions:" in text and "replays identically" in text and "crop_consistent" in text


def test_crop_groups_of_the_sets_crop_table_decide_as_the_codes(loaded: Settings, tmp_path: Path) -> None:
    """``applies_to: {groups: ...}`` and events ``groups:`` take their codes from ``cbm import crops``."""
    from backend.errors import InvalidInput
    from backend.parcels.crops import import_crops

    text = CATALOGUE.read_text()
    grouped = tmp_path / "grouped.yaml"
    grouped.write_text(text.replace('applies_to: {crops: ["265", "266"]}',
                                    "applies_to: {groups: [grassland]}")
                       .replace('crops: ["265", "266", "662"]', "groups: [grassland, fallow]"))
    assert grouped.read_text() != text
    with pytest.raises(InvalidInput, match=r"names crop groups but .* has no crop table with groups"):
        run_markers(loaded, aoi="mk", year=2025, catalogue=grouped)
    table = tmp_path / "crops.csv"
    table.write_text("code,group\n265,grassland\n266,grassland\n662,fallow\n233,arable\n")
    import_crops(loaded, table, aoi="mk", year=2025)
    by_codes = run_markers(loaded, aoi="mk", year=2025, catalogue=CATALOGUE)
    by_groups = run_markers(loaded, aoi="mk", year=2025, catalogue=grouped)
    assert by_groups.colours == by_codes.colours

    def colours(run_id: int) -> list[tuple]:
        return [r[:4] for r in _rows(loaded, run_id)]

    assert colours(by_groups.run_id) == colours(by_codes.run_id)
    ev = json.loads(next(r for r in _rows(loaded, by_groups.run_id) if r[1] == "grassland_mown")[4])
    assert ev["condition"]["crops"] == ["265", "266"] and ev["condition"]["groups"] == ["grassland"]
