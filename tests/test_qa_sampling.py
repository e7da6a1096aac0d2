"""QA sampling (issue 25): sizes, allocation, reproducible draws over real decisions in PostgreSQL."""

from __future__ import annotations

import uuid

import numpy as np
import psycopg
import pytest
from psycopg.types.json import Jsonb

from backend.db import queries_qa as q
from backend.errors import InvalidInput, NotFound
from backend.parcels.sets import ParcelSetKey
from backend.qa.samples import draw_sample, list_samples
from backend.qa.sampling import SampleSpec, allocate, draw, size_for_precision


def make_set(conn: psycopg.Connection, n: int, conditions: tuple[str, ...] = ("mown", "cover"), *,
             aoi: str | None = None, year: int = 2025) -> ParcelSetKey:
    """A parcel set of ``n`` parcels (crops 233/265/259 in turn) with one marker run of decisions.

    Colours by parcel number: every 10th red, the one after it yellow, the rest green.
    """
    aoi = aoi or "q" + uuid.uuid4().hex[:10]
    set_id = conn.execute("INSERT INTO parcel_sets (aoi, year, srid, n_parcels) VALUES (%s, %s, 32631, %s) "
                          "RETURNING id", (aoi, year, n)).fetchone()["id"]
    conn.execute(
        "INSERT INTO parcels (set_id, id, pid, cropcode, cropname, area_m2, geom) "
        "SELECT %s, g, 'P' || lpad(g::text, 7, '0'), (ARRAY['233', '265', '259'])[1 + g %% 3], "
        "(ARRAY['wheat', 'grass', 'maize'])[1 + g %% 3], 10000, "
        "ST_Multi(ST_MakeEnvelope(600000 + g * 10, 5800000, 600005 + g * 10, 5800005, 32631)) "
        "FROM generate_series(1, %s) g", (set_id, n))
    run = conn.execute(
        "INSERT INTO marker_runs (set_id, scheme, catalogue_version, params) "
        "VALUES (%s, 'eco-test', '2025.t', %s) RETURNING id",
        (set_id, Jsonb({"versions": {"mowing": "m1"}, "rule_version": "r1", "catalogue_sha256": "abc"})),
    ).fetchone()["id"]
    conn.execute(
        "INSERT INTO decisions (run_id, set_id, parcel_id, condition, colour, reason, rule_version) "
        "SELECT %s, %s, g, c, CASE WHEN g %% 10 = 0 THEN 'red' WHEN g %% 10 = 1 THEN 'yellow' "
        "ELSE 'green' END, 'test', 'r1' FROM generate_series(1, %s) g, unnest(%s::text[]) c",
        (run, set_id, n, list(conditions)))
    return ParcelSetKey(aoi, year)


def _units(conn: psycopg.Connection, sample_id: int) -> list[tuple]:
    return [(r["pid"], r["condition"], r["stratum"], r["colour"], r["incl_prob"])
            for r in q.units(conn, sample_id)]


def test_allocation_sums_and_minimum_per_stratum() -> None:
    assert allocate(10, [1000, 10], [1000, 10]) == [8, 2]  # at least 2 per stratum when possible
    assert allocate(3, [10, 10, 10], [1, 1, 1]) == [1, 1, 1]  # too small for 2 each
    assert sum(allocate(97, [500, 300, 200], [500, 300, 200])) == 97
    assert allocate(5, [1, 1, 100], [1, 1, 100]) == [1, 1, 3]  # capped by the stratum size
    with pytest.raises(InvalidInput, match="larger than the population"):
        allocate(13, [5, 7], [5, 7])


def test_size_for_precision_by_hand() -> None:
    # z = 1.959964; n0 = z^2 * 0.25 / 0.02^2 = 2400.9 -> with fpc for N = 10 000: 2400.9 / 1.24 = 1936.2
    assert size_for_precision(0.02, 0.95, 10_000) == 1937
    assert size_for_precision(0.05, 0.95, 10**9) == 385  # the textbook 384.1 -> 385


def test_neyman_gives_more_to_the_uncertain_strata() -> None:
    labels = ["green"] * 900 + ["red"] * 100
    spec = SampleSpec(("c",), size=100, strata=("colour",), allocation="neyman")
    _, prob, strata = draw(np.random.Generator(np.random.PCG64(1)), labels, 100, spec)
    # weights 900 * sqrt(.05 * .95) = 196.2 and 100 * sqrt(.2 * .8) = 40: red gets 17, not 10
    assert strata == {"green": {"N": 900, "n": 83}, "red": {"N": 100, "n": 17}}
    assert sorted(set(prob.round(4))) == [round(83 / 900, 4), 0.17]


def test_spec_refuses_ambiguous_input() -> None:
    for kwargs, words in (({"size": 5, "precision": 0.02}, "either"), ({}, "either"),
                          ({"size": 0}, "at least 1"), ({"precision": 0.7}, "half-width"),
                          ({"size": 5, "strata": ("soil",)}, "strata"),
                          ({"size": 5, "allocation": "neyman"}, "stratify by colour")):
        with pytest.raises(InvalidInput, match=words):
            SampleSpec(("c",), **kwargs)


def test_sample_is_reproducible_from_its_seed_and_never_overwritten(conn: psycopg.Connection) -> None:
    key = make_set(conn, 600)
    spec = SampleSpec(("mown", "cover"), size=40, strata=("colour", "crop_group"), seed=12345)
    first = draw_sample(conn, key, spec, created_by="tester")
    second = draw_sample(conn, key, spec)
    other = draw_sample(conn, key, SampleSpec(("mown", "cover"), size=40, strata=("colour", "crop_group"),
                                              seed=54321))
    assert len({first["id"], second["id"], other["id"]}) == 3
    a, b, c = (_units(conn, s["id"]) for s in (first, second, other))
    assert a == b and len(a) == 80 and a != c
    assert [s["id"] for s in list_samples(conn, key)] == [first["id"], second["id"], other["id"]]
    d = first["design"]
    assert d["seed"] == 12345 and d["versions"]["catalogue_version"] == "2025.t"
    assert d["versions"]["markers"] == {"mowing": "m1"} and d["frame"]["n_decisions"] == 1200
    assert d["conditions"]["mown"]["colours"] == {"green": 480, "red": 60, "yellow": 60}


def test_inclusion_probabilities_weight_back_to_the_frame(conn: psycopg.Connection) -> None:
    key = make_set(conn, 1000, ("mown",))
    r = draw_sample(conn, key, SampleSpec(("mown",), size=50, strata=("colour",), seed=7))
    units = _units(conn, r["id"])
    for colour, frame_n in (("green", 800), ("red", 100), ("yellow", 100)):
        mine = [u for u in units if u[3] == colour]
        assert all(u[2] == colour for u in mine)  # stratum is the colour
        assert sum(1 / u[4] for u in mine) == pytest.approx(frame_n)
    srs = draw_sample(conn, key, SampleSpec(("mown",), size=50, seed=7))
    assert {u[4] for u in _units(conn, srs["id"])} == {0.05} and srs["design"]["method"] == "srs"


def test_bad_sizes_and_conditions_refused(conn: psycopg.Connection) -> None:
    key = make_set(conn, 120, ("mown",))
    with pytest.raises(InvalidInput, match="larger than the 120 decisions of condition 'mown'"):
        draw_sample(conn, key, SampleSpec(("mown",), size=121))
    with pytest.raises(InvalidInput, match=r"cannot be met.*needs 120 of its 120"):
        draw_sample(conn, key, SampleSpec(("mown",), precision=0.005))
    with pytest.raises(NotFound, match=r"'soil'.*known: mown"):
        draw_sample(conn, key, SampleSpec(("mown", "soil"), size=5))
    assert list_samples(conn, key) == []
