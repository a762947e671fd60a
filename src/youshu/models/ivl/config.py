"""IVL configuration as data: intimacy weights, lifecycle thresholds, value cut points and the playbook (YAML)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from youshu.errors import YoushuError

__all__ = [
    "IntimacyComponent",
    "IntimacyConfig",
    "IvlConfig",
    "LifecycleConfig",
    "PlaybookEntry",
    "ValueConfig",
    "load_config",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IntimacyComponent(_Strict):
    """One term of the intimacy score: a feature scaled to 0..1 and its weight."""

    name: str
    zh: str
    feature: str
    transform: Literal["cap", "flag"]
    cap: float | None = Field(default=None, gt=0)
    weight: float = Field(ge=0)


class IntimacyLevels(_Strict):
    high: float = Field(gt=0, le=100)
    medium: float = Field(ge=0, le=100)


class IntimacyConfig(_Strict):
    """Components and 高/中/低 cut points of the 0-100 intimacy score."""

    components: tuple[IntimacyComponent, ...]
    levels: IntimacyLevels


class LifecycleConfig(_Strict):
    """Thresholds of the lifecycle rules (see definitions/ivl/lifecycle.yml)."""

    acquisition_max_tenure_days: int = Field(gt=0)
    dormant_max_aum_vs_peak: float = Field(ge=0, le=1)
    quiet_min_days_since_txn: int = Field(gt=0)
    quiet_max_txn_90d: int = Field(ge=0)
    dormant_max_p_alive: float = Field(ge=0, le=1)
    decline_max_aum_vs_peak: float = Field(ge=0, le=1)
    growth_min_slope: float
    decline_max_slope: float


class ValueLevels(_Strict):
    high_yuan: float = Field(gt=0)
    medium_yuan: float = Field(ge=0)


class ValueConfig(_Strict):
    """Horizon of the value model and 高/中/低 cut points on predicted AUM (yuan)."""

    horizon_days: int = Field(gt=0)
    levels: ValueLevels


class PlaybookEntry(_Strict):
    """The recommended action for one cube cell (intimacy level, value level, lifecycle stage)."""

    intimacy: Literal["高", "中", "低", "*"]
    value: Literal["高", "中", "低", "*"]
    lifecycle: Literal["获客期", "成长期", "成熟期", "衰退期", "沉睡流失", "*"]
    action: str


class IvlConfig(_Strict):
    """Everything the IVL portrait reads from ``definitions/ivl/``."""

    intimacy: IntimacyConfig
    lifecycle: LifecycleConfig
    value: ValueConfig
    playbook: tuple[PlaybookEntry, ...]


def _read(path: Path) -> object:
    if not path.is_file():
        raise YoushuError(
            f"IVL definition {path} is missing: copy it from definitions/ivl/ in the youshu repo"
        )
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise YoushuError(f"{path} is not valid YAML: {exc}") from exc


def load_config(directory: Path) -> IvlConfig:
    """Read ``intimacy.yml``, ``lifecycle.yml``, ``value.yml`` and ``playbook.yml`` from ``directory``.

    Raises
    ------
    YoushuError
        Naming the file and field that is missing or invalid.
    """
    directory = Path(directory)
    parts = {
        name: _read(directory / f"{name}.yml") for name in ("intimacy", "lifecycle", "value", "playbook")
    }
    playbook = parts["playbook"]
    if isinstance(playbook, dict):
        parts["playbook"] = playbook.get("rules", playbook)
    try:
        return IvlConfig.model_validate(parts)
    except ValidationError as exc:
        raise YoushuError(f"invalid IVL definitions in {directory}: {exc}") from exc
