"""The rural definitions (definitions/rural/*.yml): competitiveness weights and chain scoring, validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from youshu.errors import YoushuError

#: definitions/rural of the repository (the default when no folder is given).
DEFAULT_DIR = Path(__file__).resolve().parents[3] / "definitions" / "rural"
COMPONENTS = ("scale", "growth", "concentration", "credit_quality")
SOURCES = ("transactions", "merchants", "loans")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Component(_Strict):
    """One standardised component of the competitiveness index."""

    name: str
    name_zh: str
    weight: float
    description: str = ""


class CompetitivenessConfig(_Strict):
    """definitions/rural/competitiveness.yml."""

    window_days: int = Field(365, ge=60, le=730)
    growth_days: int = Field(180, ge=30, le=365)
    credit_prior_instalments: float = Field(12.0, ge=0)
    z_clip: float = Field(3.0, gt=0)
    source_weights: dict[str, float]
    components: list[Component]

    def weight(self, name: str) -> float:
        """The weight of component ``name``."""
        return next(c.weight for c in self.components if c.name == name)


class StageRule(_Strict):
    """Score of one chain stage: ``bias + sum(weights[f] * ln(1 + feature f))``; probability = sigmoid."""

    name_zh: str
    bias: float
    weights: dict[str, float]


class ChainConfig(_Strict):
    """definitions/rural/chains.yml."""

    window_days: int = Field(365, ge=90, le=730)
    min_probability: float = Field(0.5, gt=0, lt=1)
    stages: dict[str, StageRule]


def _load(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise YoushuError(f"rural definitions file {path} is missing; restore it from definitions/rural/")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise YoushuError(f"{path} must hold a mapping, got {type(data).__name__}")
    return data


def load_competitiveness(folder: Path | None = None) -> CompetitivenessConfig:
    """Read and check ``competitiveness.yml`` from ``folder`` (default definitions/rural).

    Raises
    ------
    YoushuError
        When the file is missing, has unknown keys, or lacks a component or source weight.
    """
    path = (folder or DEFAULT_DIR) / "competitiveness.yml"
    try:
        config = CompetitivenessConfig(**_load(path))
    except ValidationError as exc:
        raise YoushuError(f"{path} is not a valid competitiveness definition: {exc}") from exc
    names = {c.name for c in config.components}
    if names != set(COMPONENTS):
        raise YoushuError(f"{path}: components must be exactly {list(COMPONENTS)}, got {sorted(names)}")
    if set(config.source_weights) != set(SOURCES):
        raise YoushuError(
            f"{path}: source_weights must name {list(SOURCES)}, got {sorted(config.source_weights)}"
        )
    return config


def load_chains(folder: Path | None = None) -> ChainConfig:
    """Read and check ``chains.yml`` from ``folder`` (default definitions/rural).

    Raises
    ------
    YoushuError
        When the file is missing or invalid, or a stage other than production/processing/sales is named.
    """
    path = (folder or DEFAULT_DIR) / "chains.yml"
    try:
        config = ChainConfig(**_load(path))
    except ValidationError as exc:
        raise YoushuError(f"{path} is not a valid chain definition: {exc}") from exc
    if set(config.stages) != {"production", "processing", "sales"}:
        raise YoushuError(
            f"{path}: stages must be production, processing and sales, got {sorted(config.stages)}"
        )
    return config
