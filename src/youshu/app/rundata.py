"""What the pipeline wrote for one run, read once and kept in memory for the workbench (read-only).

The workbench shows what the pipeline computed and never recomputes it: each entry of :data:`TABLES` names a
file or folder of the run (or a canonical table of the warehouse) and the column naming the outlet that owns
each row, which ``youshu.app.access`` uses to enforce scope. Customer-level outputs without an outlet column get
the customer's home outlet (``home_outlet_id`` of the customers table) when loaded; merchant tags get the
merchant's home outlet (``circles/merchant_home``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from youshu.app.lru import LruCache
from youshu.errors import YoushuError
from youshu.tags.audience import AudienceIndex


class RunDataError(YoushuError):
    """A run output the workbench needs is missing or unreadable."""


@dataclass(frozen=True)
class TableSpec:
    """Where a table comes from and who owns its rows.

    Attributes
    ----------
    path : str
        Relative to the run folder, or ``warehouse:<table>`` for a canonical table.
    outlet : str, optional
        Column naming the owning outlet; ``None`` for province-level aggregates.
    customer_rows : bool
        Rows are individual customers (or accounts): needs the ``customer_rows`` permission.
    owner : str, optional
        How to attach the outlet when the file has none: ``customer`` (home outlet of ``customer_id``) or
        ``merchant`` (home outlet of ``merchant_id``).
    columns : tuple of str, optional
        Read only these columns.
    zh : str
        Display name.
    """

    path: str
    outlet: str | None
    customer_rows: bool = False
    owner: str | None = None
    columns: tuple[str, ...] | None = None
    zh: str = ""


TABLES: dict[str, TableSpec] = {
    # canonical tables (master data)
    "outlets": TableSpec("warehouse:outlets", "outlet_id", zh="网点"),
    "counties": TableSpec("warehouse:counties", None, zh="区县"),
    "customers": TableSpec(
        "warehouse:customers",
        "outlet_id",
        customer_rows=True,
        columns=(
            "customer_id",
            "name",
            "phone",
            "id_card_no",
            "gender",
            "birth_date",
            "occupation",
            "county_id",
            "home_outlet_id",
            "onboard_date",
        ),
        zh="客户",
    ),
    "accounts": TableSpec(
        "warehouse:accounts",
        "outlet_id",
        customer_rows=True,
        columns=("account_id", "customer_id", "outlet_id", "account_type", "status"),
        zh="账户",
    ),
    # province summary
    "summary_aum_by_county": TableSpec("summary/aum_by_county.parquet", None, zh="区县资产"),
    "summary_aum_trend": TableSpec("summary/aum_trend.parquet", None, zh="资产趋势"),
    "summary_kpi_progress": TableSpec("summary/kpi_progress.parquet", None, zh="KPI 进度"),
    "summary_qr_weekly": TableSpec("summary/qr_weekly.parquet", None, zh="扫码周趋势"),
    # circles and merchants
    "circle_summary": TableSpec("circles/circle_summary", "outlet_id", zh="微商圈概况"),
    "circle_members": TableSpec("circles/circle_members", "outlet_id", zh="商圈商户"),
    "circle_categories": TableSpec("circles/circle_categories", "outlet_id", zh="商圈行业"),
    "circle_tags": TableSpec("circles/circle_tags.parquet", "outlet_id", zh="商圈标签"),
    "merchant_home": TableSpec("circles/merchant_home", "home_outlet_id", zh="商户归属网点"),
    "merchant_tags": TableSpec(
        "tags/merchant_tags/as_of_date={as_of}/wide", "outlet_id", owner="merchant", zh="商户标签"
    ),
    "merchant_alerts": TableSpec("merchants/alerts.parquet", "outlet_id", zh="商户资金流预警"),
    "merchant_alerts_by_outlet": TableSpec(
        "merchants/alerts_by_outlet.parquet", "outlet_id", zh="网点商户预警"
    ),
    "merchant_vip": TableSpec("merchants/vip.parquet", "outlet_id", zh="VIP 商户"),
    "kpi_outlets": TableSpec("merchants/kpi_outlets.parquet", "outlet_id", zh="网点 KPI"),
    "alliance_ledger": TableSpec("merchants/alliance_ledger.parquet", "outlet_id", zh="异业联盟台账"),
    # customers: IVL, tags, scores, lists
    "customer_ivl": TableSpec(
        "models/ivl/customer_ivl", "outlet_id", customer_rows=True, owner="customer", zh="客户 IVL"
    ),
    "ivl_cube_province": TableSpec("models/ivl/ivl_cube.parquet", None, zh="IVL 立方体(全省)"),
    "customer_tags": TableSpec(
        "tags/customer_tags/as_of_date={as_of}/wide",
        "outlet_id",
        customer_rows=True,
        owner="customer",
        zh="客户标签",
    ),
    "wealth_scores": TableSpec(
        "models/wealth_scores.parquet", "outlet_id", customer_rows=True, zh="理财倾向评分"
    ),
    "wealth_targets": TableSpec(
        "lists/wealth_targets.parquet", "outlet_id", customer_rows=True, zh="理财营销名单"
    ),
    "wealth_targets_summary": TableSpec(
        "lists/wealth_targets_summary.parquet", "outlet_id", zh="名单网点汇总"
    ),
    "rural_selection": TableSpec(
        "rural/selection.parquet", "home_outlet_id", customer_rows=True, zh="一县一品入选客户"
    ),
    "rural_catalogue": TableSpec("rural/catalogue.parquet", None, zh="特产名录"),
    # risk
    "risk_alerts": TableSpec("risk/alerts.parquet", "outlet_id", customer_rows=True, zh="风险账户预警"),
    "risk_by_outlet": TableSpec("risk/by_outlet.parquet", "outlet_id", zh="网点风险分布"),
    "risk_by_county": TableSpec("risk/by_county.parquet", None, zh="区县风险分布"),
    "risk_trend": TableSpec("risk/trend.parquet", None, zh="预警趋势"),
    "risk_high_trend": TableSpec("risk/high_risk_trend.parquet", None, zh="高风险账户趋势"),
    "risk_drift": TableSpec("risk/drift.parquet", None, zh="特征漂移"),
    "risk_rising_outlets": TableSpec("risk/rising_outlets.parquet", "outlet_id", zh="预警上升网点"),
    "risk_validation": TableSpec("risk/validation.parquet", None, zh="跨时间验证"),
    "customer_risk_flags": TableSpec(
        "risk/customer_risk_flags", "outlet_id", customer_rows=True, owner="customer", zh="风险账户客户"
    ),
}


class RunData:
    """The outputs of one run folder, loaded on first use and cached (thread-safe).

    Parameters
    ----------
    folder : Path
        The run folder (``runs/<as_of>/<name>/``).
    warehouse : Path
        The canonical tables the run read.
    """

    def __init__(self, folder: Path, warehouse: Path) -> None:
        self.folder = Path(folder)
        self.warehouse = Path(warehouse)
        meta = self.folder / "run.json"
        if not meta.exists():
            raise RunDataError(f"{self.folder} is not a finished run folder (no run.json)")
        self.meta: dict[str, Any] = json.loads(meta.read_text(encoding="utf-8"))
        self.as_of: str = str(self.meta["as_of"])
        self.name: str = str(self.meta.get("name", self.folder.name))
        self._cache: dict[str, pd.DataFrame] = {}
        self._lock = threading.RLock()  # loading a table may load its owner table first
        self._audience: AudienceIndex | None = None
        #: masked copies of tables with personal data (``youshu.app.access.masked``)
        self.masked_cache: dict[str, pd.DataFrame] = {}
        #: scope-filtered tables per scope (``youshu.app.access.ScopedData``); bounded
        self.scoped_cache = LruCache(1024)

    # -- files --------------------------------------------------------------------------------------------------
    def path(self, relative: str) -> Path:
        """A file of the run folder."""
        return self.folder / relative.format(as_of=self.as_of)

    def has(self, name: str) -> bool:
        """Whether the run wrote table ``name`` (a step may have been skipped)."""
        if name in self._cache:  # loaded already (warm() loads every table the run has)
            return True
        spec = TABLES[name]
        if spec.path.startswith("warehouse:"):
            return (self.warehouse / spec.path.split(":", 1)[1]).exists()
        return self.path(spec.path).exists()

    def json(self, relative: str) -> Any:
        """A JSON file of the run folder, or ``None`` when absent."""
        path = self.path(relative)
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def _read(self, spec: TableSpec) -> pd.DataFrame:
        if spec.path.startswith("warehouse:"):
            source = self.warehouse / spec.path.split(":", 1)[1]
        else:
            source = self.path(spec.path)
        if not source.exists():
            raise RunDataError(f"{source} is missing: this run did not write it (rerun `youshu run`)")
        files = [source] if source.is_file() else sorted(source.rglob("*.parquet"))
        if not files:
            raise RunDataError(f"{source} holds no Parquet files")
        columns = list(spec.columns) if spec.columns else None
        tables = [pq.read_table(f, columns=columns, partitioning=None) for f in files]
        table = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
        return table.to_pandas()

    # -- tables -------------------------------------------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame:
        """Table ``name`` of :data:`TABLES`, whole (unscoped): only ``youshu.app.access`` should call this."""
        if name in self._cache:
            return self._cache[name]
        with self._lock:
            if name not in self._cache:
                self._cache[name] = self._load(name)
        return self._cache[name]

    def _load(self, name: str) -> pd.DataFrame:
        spec = TABLES[name]
        frame = self._read(spec)
        if name == "customers":
            frame = frame.assign(outlet_id=frame["home_outlet_id"])
        elif spec.owner == "customer":
            homes = self.table("customers")[["customer_id", "outlet_id"]]
            frame = frame.drop(columns=["outlet_id"], errors="ignore").merge(
                homes, on="customer_id", how="left"
            )
        elif spec.owner == "merchant":
            homes = self.table("merchant_home")[["merchant_id", "home_outlet_id"]]
            frame = frame.merge(
                homes.rename(columns={"home_outlet_id": "outlet_id"}), on="merchant_id", how="left"
            )
        return frame

    @property
    def outlets(self) -> pd.DataFrame:
        """The canonical outlets table (unscoped; for resolving scopes)."""
        return self.table("outlets")

    def audience(self) -> AudienceIndex:
        """The customer audience index (tag bitmaps) the tags step wrote."""
        if self._audience is None:
            with self._lock:
                if self._audience is None:
                    self._audience = AudienceIndex.load(
                        self.path("tags/customer_tags/as_of_date={as_of}/audience")
                    )
        return self._audience

    def warm(self) -> None:
        """Load every table the run has, so the first requests are as fast as the rest."""
        for name in TABLES:
            if self.has(name):
                self.table(name)
        if self.path("tags/customer_tags/as_of_date={as_of}/audience").exists():
            self.audience()
