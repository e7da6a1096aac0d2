"""Markers and the traffic light, with a replayable evidence record.

Indices, observation cleaning, event markers, crop consistency, condition catalogues (YAML)
and decisions.

Entry points: :func:`run_markers` (signatures -> markers -> decisions, stored as a run),
:func:`explain` (a parcel's story), :func:`load_catalogue`, :func:`compute_markers` and
:func:`decide` (pure, for notebooks), :func:`replay` (a decision from its evidence).
"""

from backend.markers.conditions import Catalogue, CatalogueError, Condition
from backend.markers.conditions_yaml import load_catalogue, parse_catalogue
from backend.markers.decisions import Decision, decide, replay
from backend.markers.explain import explain
from backend.markers.pipeline import MarkerParams, Markers, compute_markers
from backend.markers.service import RunReport, evaluate, run_markers

__all__ = ["Catalogue", "CatalogueError", "Condition", "Decision", "MarkerParams", "Markers", "RunReport",
           "compute_markers", "decide", "evaluate", "explain", "load_catalogue", "parse_catalogue", "replay",
           "run_markers"]
