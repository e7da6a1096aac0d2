"""Reading a condition catalogue from YAML: :func:`load_catalogue`, :func:`parse_catalogue`.

The YAML node tree is walked with the line of every key and value at hand, so each refusal
(:class:`~backend.markers.conditions.CatalogueError`) names the file, the line and the reason.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from backend.markers.conditions import (
    _ID,
    COND_KEYS,
    DRY_COVER,
    EVENT_KEYS,
    EVENT_RULE_MARKERS,
    RULES,
    TOP_KEYS,
    WEATHER_KEYS,
    Catalogue,
    CatalogueError,
    Condition,
    EventRule,
    WeatherRule,
)
from backend.parcels.crops import GROUPS


class _Reader:
    """Walks the YAML node tree, converting values and raising errors with line numbers."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._cons = SafeConstructor()

    def fail(self, node: Node, reason: str) -> CatalogueError:
        return CatalogueError(f"{self.source}, line {node.start_mark.line + 1}: {reason}")

    def value(self, node: Node) -> Any:
        if isinstance(node, ScalarNode) and node.tag.endswith(":timestamp"):
            return node.value  # dates stay text; the window parser checks them
        try:
            return self._cons.construct_object(node, deep=True)
        except (ValueError, yaml.YAMLError) as exc:
            raise self.fail(node, f"invalid value {getattr(node, 'value', '')!r}: {exc}") from None

    def mapping(self, node: Node, what: str, allowed: set[str]) -> dict[str, tuple[Node, Node]]:
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping")
        out: dict[str, tuple[Node, Node]] = {}
        for k, v in node.value:
            key = self.value(k)
            if key in out:
                raise self.fail(k, f"duplicate key '{key}' in {what}")
            if key not in allowed:
                raise self.fail(k, f"unknown key '{key}' in {what} (allowed: {', '.join(sorted(allowed))})")
            out[str(key)] = (k, v)
        return out

    def typed(self, node: Node, kind: type, what: str) -> Any:
        v = self.value(node)
        ok = isinstance(v, kind) and not (kind in (int, float) and isinstance(v, bool))
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            v, ok = float(v), True
        if not ok:
            raise self.fail(node, f"{what} must be {kind.__name__}, not {type(v).__name__} ({v!r})")
        return v

    def sequence(self, node: Node, what: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def scalar_str(self, node: Node, what: str) -> str:
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what} must be a text value")
        return str(node.value)


def _window(r: _Reader, node: Node, year: int) -> tuple[date, date]:
    items = r.sequence(node, "window")
    if len(items) != 2:
        raise r.fail(node, "window must be [start, end]")
    days = []
    for it in items:
        raw = r.scalar_str(it, "a window date") if isinstance(it, ScalarNode) else ""
        try:
            v = date.fromisoformat(raw)
        except ValueError:
            raise r.fail(it, f"'{raw}' is not a date (YYYY-MM-DD)") from None
        if v.year != year:
            raise r.fail(it, f"window dates must be dates in {year}")
        days.append(v)
    if days[1] < days[0]:
        raise r.fail(node, "window ends before it starts")
    return days[0], days[1]


def _thresholds(r: _Reader, node: Node | None, rule: str, colour: str) -> dict[str, Any]:
    if node is None:
        return {}
    spec = RULES[rule][colour]
    keys = r.mapping(node, f"{colour} (rule {rule})", set(spec))
    out = {}
    for k, (_, v) in keys.items():
        out[k] = r.typed(v, spec[k], f"{colour}.{k}")
        if out[k] < 0:
            raise r.fail(v, f"{colour}.{k} must not be negative")
    return out


def _crops_groups(r: _Reader, keys: dict[str, Any], node: Node, where: str) -> tuple[tuple[str, ...],
                                                                                   tuple[str, ...]]:
    """The crop codes and crop groups named under ``where`` (at least one of the two)."""
    if "crops" not in keys and "groups" not in keys:
        raise r.fail(node, f"{where} needs 'crops' or 'groups'")
    out: dict[str, tuple[str, ...]] = {}
    for key, what in (("crops", "a crop code"), ("groups", "a crop group")):
        items = r.sequence(keys[key][1], f"{where}.{key}") if key in keys else []
        if key in keys and not items:
            raise r.fail(keys[key][1], f"{where}.{key} is empty")
        out[key] = tuple(r.scalar_str(i, what) for i in items)
    for it, g in zip(r.sequence(keys["groups"][1], "groups") if "groups" in keys else [], out["groups"],
                     strict=True):
        if g not in GROUPS:
            raise r.fail(it, f"unknown crop group '{g}' (known: {', '.join(GROUPS)})")
    return out["crops"], out["groups"]


def _crops(r: _Reader, node: Node | None) -> tuple[tuple[str, ...] | None, tuple[str, ...]]:
    if node is None:
        return None, ()
    return _crops_groups(r, r.mapping(node, "applies_to", {"crops", "groups"}), node, "applies_to")


def _condition(r: _Reader, node: Node, year: int) -> Condition:
    keys = r.mapping(node, "a condition", COND_KEYS)
    for req in ("id", "rule"):
        if req not in keys:
            raise r.fail(node, f"condition without '{req}'")
    cid = r.typed(keys["id"][1], str, "id")
    if not _ID.match(cid):
        raise r.fail(keys["id"][1], f"id '{cid}' must be lower-case letters, digits and _")
    rule = r.typed(keys["rule"][1], str, "rule")
    if rule not in RULES:
        raise r.fail(keys["rule"][1], f"unknown rule '{rule}' (known: {', '.join(RULES)})")
    spec = RULES[rule]
    marker = spec["markers"][0]
    if "marker" in keys:
        marker = r.typed(keys["marker"][1], str, "marker")
        if marker not in spec["markers"]:
            raise r.fail(keys["marker"][1], f"rule {rule} takes marker {' or '.join(spec['markers'])}")
    for req in spec["required"]:
        if req not in keys:
            raise r.fail(node, f"condition '{cid}' (rule {rule}) needs '{req}'")
    get = lambda k: keys[k][1] if k in keys else None  # noqa: E731
    count = r.typed(keys["min_count"][1], int, "min_count") if "min_count" in keys else 0
    max_days = r.typed(keys["max_days"][1], int, "max_days") if "max_days" in keys else 0
    if "min_count" in keys and count < 1:
        raise r.fail(keys["min_count"][1], "min_count must be at least 1")
    crops, groups = _crops(r, get("applies_to"))
    dry = _dry_cover(r, get("dry_cover"), rule)
    return Condition(
        id=cid, title=r.typed(keys["title"][1], str, "title") if "title" in keys else cid,
        rule=rule, marker=marker, crops=crops, groups=groups,
        window=_window(r, keys["window"][1], year) if "window" in keys else None,
        min_count=count, max_days=max_days, green=_thresholds(r, get("green"), rule, "green"),
        red=_thresholds(r, get("red"), rule, "red"), line=node.start_mark.line + 1, dry_cover=dry)


def _dry_cover(r: _Reader, node: Node | None, rule: str) -> str:
    """``dry_cover`` of a max_period condition (``cover`` when absent)."""
    if node is None:
        return "cover"
    value = r.typed(node, str, "dry_cover")
    if rule != "max_period":
        raise r.fail(node, "dry_cover applies to rule max_period only")
    if value not in DRY_COVER:
        raise r.fail(node, f"dry_cover must be {' or '.join(DRY_COVER)}, not '{value}'")
    return value


def _event_rule(r: _Reader, node: Node, year: int) -> EventRule:
    keys = r.mapping(node, "an events rule", EVENT_KEYS)
    if "marker" not in keys:
        raise r.fail(node, "events rule without 'marker'")
    marker = r.typed(keys["marker"][1], str, "marker")
    if marker not in EVENT_RULE_MARKERS:
        raise r.fail(keys["marker"][1], f"events rule for unknown marker '{marker}' "
                     f"(known: {', '.join(EVENT_RULE_MARKERS)})")
    crops, groups = _crops_groups(r, keys, node, "events rule")
    window = _window(r, keys["window"][1], year) if "window" in keys else None
    return EventRule(marker, crops, window, node.start_mark.line + 1, groups)


def read_catalogue(r: _Reader, root: Node, sha: str) -> Catalogue:
    """Validate the whole document and build the :class:`Catalogue`."""
    keys = r.mapping(root, "the catalogue", set(TOP_KEYS))
    for req in ("catalogue", "scheme", "year", "version", "conditions"):
        if req not in keys:
            raise r.fail(root, f"the catalogue needs '{req}'")
    vals = {k: r.typed(v, TOP_KEYS[k], k) for k, (_, v) in keys.items() if k not in ("conditions", "events")}
    year = vals["year"]
    if not 1990 <= year <= 2100:
        raise r.fail(keys["year"][1], "year must be within 1990..2100")
    items = r.sequence(keys["conditions"][1], "conditions")
    if not items:
        raise r.fail(keys["conditions"][1], "conditions is empty")
    conds: list[Condition] = []
    for it in items:
        c = _condition(r, it, year)
        if any(o.id == c.id for o in conds):
            raise r.fail(it, f"duplicate condition id '{c.id}'")
        conds.append(c)
    ev_nodes = r.sequence(keys["events"][1], "events") if "events" in keys else []
    events = [_event_rule(r, it, year) for it in ev_nodes]
    resolved = not any(c.groups for c in conds) and not any(e.groups for e in events)
    weather = _weather_rule(r, keys["weather"][1]) if "weather" in keys else None
    return Catalogue(vals["catalogue"], vals["scheme"], year, vals["version"], tuple(conds), sha, r.source,
                     tuple(events), resolved, weather)


def _weather_rule(r: _Reader, node: Node) -> WeatherRule:
    """The ``weather`` section: thresholds of rain and frost, confidence factors in 0..1."""
    vals = {k: r.typed(v, WEATHER_KEYS[k], f"weather.{k}")
            for k, (_, v) in r.mapping(node, "weather", set(WEATHER_KEYS)).items()}
    rule = WeatherRule(**vals, line=node.start_mark.line + 1)
    if rule.rain_mm <= 0 or not 1 <= rule.rain_days <= 7:
        raise r.fail(node, "weather.rain_mm must be > 0 and weather.rain_days within 1..7")
    if not (0 <= rule.s1_factor <= 1 and 0 <= rule.s2_factor <= 1):
        raise r.fail(node, "weather.s1_factor and weather.s2_factor must be within 0..1")
    return rule


def parse_catalogue(text: str, source: str = "<catalogue>") -> Catalogue:
    """Parse and validate a catalogue from YAML text.

    Raises:
        CatalogueError: invalid YAML or content; the message names the line and the reason.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f", line {mark.line + 1}" if mark else ""
        raise CatalogueError(f"{source}{line}: invalid YAML: {exc.problem or exc.context}") from None
    if root is None:
        raise CatalogueError(f"{source}: the catalogue is empty")
    sha = hashlib.sha256(text.encode()).hexdigest()
    return read_catalogue(_Reader(source), root, sha)


def load_catalogue(path: str | Path) -> Catalogue:
    """Read and validate a catalogue file (see :func:`parse_catalogue`)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"cannot read condition catalogue {p}: {exc.strerror}") from None
    return parse_catalogue(text, str(p))
