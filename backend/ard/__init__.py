"""Sentinel-1 analysis-ready data made here from Level-1 products (CARD-BS from GRD).

``card_s1`` turns a GRD product into calibrated, terrain-corrected backscatter COGs and a STAC
item catalogued as backscatter. Coherence (CARD-COH6) is not made here: see the README.
"""

from backend.ard.card import CardResult, CardSpec, card_s1

__all__ = ["CardResult", "CardSpec", "card_s1"]
