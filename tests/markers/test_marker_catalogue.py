"""Condition catalogues: the demo catalogue loads; invalid ones are refused with line and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend.errors import InvalidInput
from backend.markers.conditions import CatalogueError
from backend.markers.conditions_yaml import load_catalogue, parse_catalogue

DEMO = Path(__file__).resolve().parents[2] / "backend" / "markers" / "catalogues" / "demo_2025.yaml"

GOOD = """\
catalogue: t
scheme: s
year: 2025
version: "1"
conditions:
  - id: mown
    rule: event_count
    marker: mowing
    window: [2025-06-01, 2025-08-15]
    min_count: 1
"""


def test_demo_catalogue_loads() -> None:
    cat = load_catalogue(DEMO)
    assert (cat.year, cat.version) == (2025, "2025.7")
    assert [c.id for c in cat.conditions] == ["grassland_mown", "no_long_bare_soil", "crop_consistent"]
    mown = cat.condition("grassland_mown")
    assert mown.applies("265") and not mown.applies("233")
    assert len(cat.sha256) == 64


def test_good_catalogue_has_defaults() -> None:
    c = parse_catalogue(GOOD).conditions[0]
    assert (c.marker, c.min_count, c.crops, c.line) == ("mowing", 1, None, 6)


@pytest.mark.parametrize(("old", "new", "line", "reason"), [
    ("    marker: mowing\n", "    marker: mowing\n    colour: blue\n", 9,
     "unknown key 'colour' in a condition"),
    ("rule: event_count", "rule: guess", 7, "unknown rule 'guess'"),
    ("marker: mowing", "marker: bare_soil", 8, "rule event_count takes marker"),
    ("2025-08-15]", "2025-13-15]", 9, "'2025-13-15' is not a date"),
    ("2025-08-15]", "2024-08-15]", 9, "window dates must be dates in 2025"),
    ("[2025-06-01, 2025-08-15]", "[2025-08-01, 2025-06-15]", 9, "window ends before it starts"),
    ("min_count: 1", "min_count: 0", 10, "min_count must be at least 1"),
    ("min_count: 1", "min_count: one", 10, "min_count must be int"),
    ("year: 2025", "year: 2025\nyear: 2026", 4, "duplicate key 'year'"),
    ("    min_count: 1\n", "", 6, "needs 'min_count'"),
    ("    window: [2025-06-01, 2025-08-15]\n", "    window: [2025-06-01, 2025-08-15\n", 10, "invalid YAML"),
    ("  - id: mown", "  - id: Mown!", 6, "must be lower-case"),
])
def test_invalid_catalogue_refused_with_line_and_reason(old: str, new: str, line: int, reason: str) -> None:
    text = GOOD.replace(old, new)
    assert text != GOOD
    with pytest.raises(CatalogueError) as exc:
        parse_catalogue(text, "cat.yaml")
    assert f"cat.yaml, line {line}:" in str(exc.value) and reason in str(exc.value)
    assert isinstance(exc.value, InvalidInput)


def test_duplicate_condition_and_bad_thresholds() -> None:
    twice = GOOD + GOOD.split("conditions:\n")[1]
    with pytest.raises(CatalogueError, match=r"line 11: duplicate condition id 'mown'"):
        parse_catalogue(twice, "cat.yaml")
    bad = GOOD + "    green: {min_score: 0.5}\n"
    with pytest.raises(CatalogueError, match=r"line 11: unknown key 'min_score' in green"):
        parse_catalogue(bad, "cat.yaml")


def test_missing_file_and_empty() -> None:
    with pytest.raises(CatalogueError, match="cannot read"):
        load_catalogue("/nonexistent/cat.yaml")
    with pytest.raises(CatalogueError, match="empty"):
        parse_catalogue("")
