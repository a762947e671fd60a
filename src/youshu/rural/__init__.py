"""Rural finance (乡村振兴): the specialty catalogue (特产名录) and industry-chain customers (产业链客户)."""

from __future__ import annotations

from youshu.rural.catalogue import CATALOGUE_COLUMNS, specialty_catalogue
from youshu.rural.chains import CHAIN_COLUMNS, STAGE_ZH, chain_customers, classify_chains
from youshu.rural.config import load_chains, load_competitiveness

__all__ = [
    "CATALOGUE_COLUMNS",
    "CHAIN_COLUMNS",
    "STAGE_ZH",
    "chain_customers",
    "classify_chains",
    "load_chains",
    "load_competitiveness",
    "specialty_catalogue",
]
