"""Project configuration: ``youshu.yaml`` (pydantic, extra=forbid) plus ``YOUSHU_*`` environment variables."""

from __future__ import annotations

import functools
import os
from datetime import date
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from youshu.errors import ConfigError

CONFIG_FILE = "youshu.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SparkSettings(_Strict):
    """How to reach Spark when ``engine: spark``."""

    master: str = Field("local[*]", description="Spark master URL; local[*] on one machine")
    conf: dict[str, str] = Field(default_factory=dict, description="extra spark.* settings")


class SynthSettings(_Strict):
    """Defaults for ``youshu synth`` and ``make demo``."""

    customers: int = Field(50_000, ge=1_000, le=16_000_000)
    seed: int = 20261129
    start_date: date = date(2024, 1, 1)
    end_date: date = date(2025, 12, 31)


class Settings(_Strict):
    """A youshu project. Paths are relative to the folder holding youshu.yaml."""

    project_dir: Path = Field(Path("."), description="folder of youshu.yaml; set by the loader")
    warehouse: Path = Field(Path("data/warehouse"), description="canonical tables (Parquet folders)")
    runs_dir: Path = Field(Path("runs"), description="run outputs, one folder per as-of date and run name")
    definitions_dir: Path = Field(Path("definitions"), description="tag definitions (tags/customer, tags/merchant)")
    tags_dir: Path = Field(Path("data/tags"), description="applied tags per as-of date (youshu tags apply)")
    engine: Literal["duckdb", "spark"] = "duckdb"
    duckdb_path: Path = Field(Path("data/youshu.duckdb"), description="DuckDB database file")
    duckdb_memory_limit: str | None = Field(None, description="e.g. '4GB'; DuckDB spills beyond it")
    as_of: date | None = Field(None, description="default as-of date for `youshu run`")
    spark: SparkSettings = Field(default_factory=lambda: SparkSettings())
    synth: SynthSettings = Field(default_factory=lambda: SynthSettings())

    def resolve(self, path: Path) -> Path:
        """Resolve a configured path against the project folder."""
        return path if path.is_absolute() else (self.project_dir / path)


ENV_PREFIX = "YOUSHU_"
_ENV_FIELDS = {
    "ENGINE": "engine",
    "WAREHOUSE": "warehouse",
    "RUNS_DIR": "runs_dir",
    "DUCKDB_PATH": "duckdb_path",
}


def load_settings(project_dir: Path | None = None) -> Settings:
    """Read ``youshu.yaml`` from ``project_dir`` (default: current folder) and apply ``YOUSHU_*`` overrides.

    A missing file gives the defaults. ``YOUSHU_ENGINE``, ``YOUSHU_WAREHOUSE``, ``YOUSHU_RUNS_DIR``,
    ``YOUSHU_DUCKDB_PATH`` and ``YOUSHU_SPARK_MASTER`` override the file (secrets belong in the environment).

    Raises
    ------
    ConfigError
        Naming the file and the offending field when the configuration is invalid.
    """
    folder = Path(project_dir) if project_dir is not None else Path.cwd()
    path = folder / CONFIG_FILE
    data: dict[str, object] = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
        data.update(loaded)
    for env, field in _ENV_FIELDS.items():
        if (value := os.environ.get(ENV_PREFIX + env)) is not None:
            data[field] = value
    if (master := os.environ.get(ENV_PREFIX + "SPARK_MASTER")) is not None:
        spark = dict(data.get("spark") or {})  # type: ignore[call-overload]
        spark["master"] = master
        data["spark"] = spark
    data["project_dir"] = folder
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


@functools.cache
def get_settings() -> Settings:
    """The settings of the project in the current folder, read once."""
    return load_settings()
