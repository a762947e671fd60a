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


class MerchantAlertSettings(_Strict):
    """Fund-flow monitoring (资金动向) thresholds of ``youshu merchants alerts`` (docs/merchants.md)."""

    quick_outflow_days: int = Field(3, ge=0, le=30, description="N: settled funds leaving within N days")
    quick_outflow_share: float = Field(0.8, gt=0, le=1, description="alert at this share gone in N days")
    quick_outflow_window_days: int = Field(30, ge=1, le=365, description="settlements looked at, in days")
    quick_outflow_min_settled_fen: int = Field(100_000, ge=0, description="ignore smaller settled sums (fen)")
    drop_share: float = Field(0.4, gt=0, le=1, description="alert when daily QR volume fell by this share")
    drop_recent_days: int = Field(7, ge=1, le=90, description="recent window compared with the baseline")
    drop_baseline_weeks: int = Field(4, ge=1, le=26, description="baseline weeks before the recent window")
    drop_min_baseline_payments: int = Field(20, ge=0, description="baseline payments needed to judge a drop")
    silent_days: int = Field(28, ge=1, description="alert after this many days without a QR payment")
    silent_max_days: int | None = Field(180, ge=1, description="longer silences count as lost, not alerted")


class VipMerchantSettings(_Strict):
    """VIP merchants (VIP商户): retained deposits and QR volume (defaults as the vip_merchant tag)."""

    min_deposit_fen: int = Field(10_000_000, ge=0, description="settlement account month-end balance")
    min_qr_amount_90d_fen: int = Field(3_000_000, ge=0, description="QR takings of the last 90 days")


class MerchantKpiSettings(_Strict):
    """KPI definitions of ``youshu kpi report``."""

    effective_min_payments: int = Field(5, ge=1, description="QR payments that make a new merchant effective")
    effective_window_days: int | None = Field(
        30, ge=1, description="days from signing to reach them; null: any time up to the as-of date"
    )
    trend_months: int = Field(12, ge=1, le=60, description="months of the monthly trend")


class CampaignReportSettings(_Strict):
    """Campaign alliance ledger (异业联盟) of ``youshu campaigns report``."""

    confidence: float = Field(0.95, gt=0.5, lt=1, description="confidence level of uplift intervals")
    deposit_horizons_days: tuple[int, ...] = Field((30, 90), min_length=1, description="retention horizons")


class MerchantSettings(_Strict):
    """Merchant operations: alerts, VIP merchants, KPIs and campaign ledgers."""

    alerts: MerchantAlertSettings = Field(default_factory=lambda: MerchantAlertSettings())
    vip: VipMerchantSettings = Field(default_factory=lambda: VipMerchantSettings())
    kpi: MerchantKpiSettings = Field(default_factory=lambda: MerchantKpiSettings())
    campaigns: CampaignReportSettings = Field(default_factory=lambda: CampaignReportSettings())


class CircleSettings(_Strict):
    """Micro business circles (微商圈), Huff catchments and visit planning (docs/circles.md)."""

    radius_km: float = Field(3.0, gt=0, le=50, description="service radius around each outlet, km")
    effective_min_payments: int = Field(5, ge=1, description="QR payments making a merchant effective")
    effective_window_days: int = Field(30, ge=1, le=365, description="days of those payments")
    huff_candidates: int = Field(6, ge=2, le=50, description="competing outlets: the k nearest")
    huff_min_distance_km: float = Field(0.3, gt=0, le=10, description="shorter distances count as this (km)")
    huff_lookback_days: int = Field(365, ge=1, description="days of counter/ATM visits observed")
    zone_tolerance: float = Field(0.1, ge=0, lt=1, description="allowed zone-size deviation")
    stops_per_day: int = Field(8, ge=1, le=100, description="visits one team member makes a day")
    route_time_limit_s: float = Field(5.0, gt=0, le=600, description="PyVRP time limit per zone, seconds")
    visits_dir: Path = Field(Path("data/visits"), description="visit log: plans and results (Parquet)")


class RegistrySettings(_Strict):
    """What a pipeline run does with the model registry (docs/registry.md, "From the pipeline")."""

    log_runs: bool = Field(
        True, description="log and register the models each `youshu run` trains (new versions: challenger)"
    )


class Settings(_Strict):
    """A youshu project. Paths are relative to the folder holding youshu.yaml."""

    project_dir: Path = Field(Path("."), description="folder of youshu.yaml; set by the loader")
    warehouse: Path = Field(Path("data/warehouse"), description="canonical tables (Parquet folders)")
    runs_dir: Path = Field(Path("runs"), description="run outputs, one folder per as-of date and run name")
    definitions_dir: Path = Field(
        Path("definitions"), description="tag definitions (tags/customer, tags/merchant)"
    )
    tags_dir: Path = Field(Path("data/tags"), description="applied tags per as-of date (youshu tags apply)")
    engine: Literal["duckdb", "spark"] = "duckdb"
    duckdb_path: Path = Field(Path("data/youshu.duckdb"), description="DuckDB database file")
    duckdb_memory_limit: str | None = Field(None, description="e.g. '4GB'; DuckDB spills beyond it")
    as_of: date | None = Field(None, description="default as-of date for `youshu run`")
    registry_uri: str | None = Field(
        None, description="MLflow server for the model registry; null: registry/mlflow.db in the project"
    )
    registry: RegistrySettings = Field(default_factory=lambda: RegistrySettings())
    spark: SparkSettings = Field(default_factory=lambda: SparkSettings())
    synth: SynthSettings = Field(default_factory=lambda: SynthSettings())
    circles: CircleSettings = Field(default_factory=lambda: CircleSettings())
    merchants: MerchantSettings = Field(default_factory=lambda: MerchantSettings())

    def resolve(self, path: Path) -> Path:
        """Resolve a configured path against the project folder."""
        return path if path.is_absolute() else (self.project_dir / path)


ENV_PREFIX = "YOUSHU_"
_ENV_FIELDS = {
    "ENGINE": "engine",
    "WAREHOUSE": "warehouse",
    "RUNS_DIR": "runs_dir",
    "DUCKDB_PATH": "duckdb_path",
    "REGISTRY_URI": "registry_uri",
}


def load_settings(project_dir: Path | None = None) -> Settings:
    """Read ``youshu.yaml`` from ``project_dir`` (default: current folder) and apply ``YOUSHU_*`` overrides.

    A missing file gives the defaults. ``YOUSHU_ENGINE``, ``YOUSHU_WAREHOUSE``, ``YOUSHU_RUNS_DIR``,
    ``YOUSHU_DUCKDB_PATH``, ``YOUSHU_REGISTRY_URI`` and ``YOUSHU_SPARK_MASTER`` override the file (secrets belong in the environment).

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
