"""IVL customer portrait: 亲密度 intimacy (I), 潜在价值 potential value (V), 生命周期 lifecycle (L)."""

from youshu.models.ivl.config import IvlConfig, load_config
from youshu.models.ivl.cube import action_for, ivl_cube, transitions
from youshu.models.ivl.intimacy import intimacy_level, intimacy_score, learn_intimacy_weights
from youshu.models.ivl.lifecycle import STAGE_ZH, LifecycleStage, lifecycle_stage
from youshu.models.ivl.portrait import (
    PORTRAIT_COLUMNS,
    IvlPortrait,
    build_portrait,
    read_portrait,
    retention_labels,
    write_portrait,
)
from youshu.models.ivl.value import AumRegressor, value_level

__all__ = [
    "PORTRAIT_COLUMNS",
    "STAGE_ZH",
    "AumRegressor",
    "IvlConfig",
    "IvlPortrait",
    "LifecycleStage",
    "action_for",
    "build_portrait",
    "intimacy_level",
    "intimacy_score",
    "ivl_cube",
    "learn_intimacy_weights",
    "lifecycle_stage",
    "load_config",
    "read_portrait",
    "retention_labels",
    "transitions",
    "value_level",
    "write_portrait",
]
