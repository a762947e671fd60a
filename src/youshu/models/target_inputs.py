"""Warehouse inputs of the target lists (营销名单): outlet capacity, CRM exclusions, id and 风险账户 files.

Capacity of an outlet = account managers × contacts per manager per week × weeks, the managers being the
distinct ``crm_contacts.staff_id`` of the outlet in the 90 days ending on the as-of date (see
docs/target-lists.md). ``youshu.models.target_lists`` selects the lists from these.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from youshu.errors import YoushuError
from youshu.features.common import last_days
from youshu.schema.enums import ContactOutcome, ContactPurpose
from youshu.schema.storage import parquet_files

if TYPE_CHECKING:
    from youshu.engine import Engine

__all__ = [
    "MANAGER_LOOKBACK_DAYS",
    "Ids",
    "contacted_recently",
    "declined_recently",
    "outlet_capacity",
    "read_id_file",
    "read_risky",
]

#: Days of CRM contacts that show who the account managers of an outlet are.
MANAGER_LOOKBACK_DAYS = 90

Ids: TypeAlias = pa.Array | pa.ChunkedArray | Iterable[str]


# -- checked columns and id arrays (shared with target_lists) ----------------------------------------------


def _as_table(data: Any, what: str) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise YoushuError(f"{what}: expected a pyarrow Table or pandas DataFrame, got {type(data).__name__}")


def _column(table: pa.Table, name: str, what: str, kind: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise YoushuError(
            f"{what} has no column {name!r}; columns: {', '.join(table.column_names) or 'none'}"
        )
    col = table.column(name)
    t = col.type
    ok = {
        "string": pa.types.is_string(t) or pa.types.is_large_string(t),
        "number": pa.types.is_integer(t) or pa.types.is_floating(t),
    }[kind]
    if not ok:
        raise YoushuError(f"{what} column {name!r} must be {kind}, got {t}")
    if kind == "string":
        col = col.cast(pa.string())
    if col.null_count:
        raise YoushuError(f"{what} column {name!r} has {col.null_count} null value(s)")
    return col


def _id_array(ids: Ids) -> pa.Array:
    if isinstance(ids, pa.ChunkedArray):
        arr: pa.Array = ids.combine_chunks()
    elif isinstance(ids, pa.Array):
        arr = ids
    else:
        arr = pa.array([str(i) for i in ids], pa.string())
    return arr.cast(pa.string())


# -- the warehouse inputs ----------------------------------------------------------------------------------


def _engine(engine: Engine | None) -> tuple[Engine, bool]:
    if engine is not None:
        return engine, False
    from youshu.engine import connect

    return connect("duckdb"), True


def outlet_capacity(
    warehouse: Path,
    as_of: date,
    *,
    per_manager_week: int = 20,
    weeks: int = 1,
    default_managers: int = 1,
    lookback_days: int = MANAGER_LOOKBACK_DAYS,
    overrides: pa.Table | pd.DataFrame | None = None,
    engine: Engine | None = None,
) -> pa.Table:
    """Contacts each outlet can make: account managers × ``per_manager_week`` × ``weeks``.

    Managers are the distinct ``crm_contacts.staff_id`` per ``outlet_id`` in the ``lookback_days`` days
    ending on ``as_of`` (``observed``); outlets of the outlets table without contacts get
    ``default_managers`` (``default``); ``overrides`` (``outlet_id, account_managers``) win (``override``).

    Returns
    -------
    pyarrow.Table
        ``outlet_id, account_managers, managers_source, capacity`` sorted by outlet.
    """
    if per_manager_week < 0 or weeks < 0 or default_managers < 0:
        raise YoushuError("per_manager_week, weeks and default_managers must be >= 0")
    eng, own = _engine(engine)
    try:
        contacts = last_days(eng.table(warehouse, "crm_contacts"), "contact_at", as_of, lookback_days)
        observed = eng.execute(
            contacts.group_by("outlet_id").aggregate(account_managers=contacts.staff_id.nunique())
        )
        outlets = eng.execute(eng.table(warehouse, "outlets").select("outlet_id"))
    finally:
        if own:
            eng.close()
    frame = pd.DataFrame({"outlet_id": sorted(set(outlets["outlet_id"]) | set(observed["outlet_id"]))})
    frame = frame.merge(observed, on="outlet_id", how="left")
    frame["managers_source"] = np.where(frame["account_managers"].isna(), "default", "observed")
    frame["account_managers"] = frame["account_managers"].fillna(default_managers).astype("int64")
    if overrides is not None:
        table = _as_table(overrides, "manager overrides")
        ids = _column(table, "outlet_id", "manager overrides", "string").to_pylist()
        managers = _column(table, "account_managers", "manager overrides", "number").to_pylist()
        given = dict(zip(ids, managers, strict=True))
        if any(m < 0 for m in managers):
            raise YoushuError("manager overrides column 'account_managers' must be >= 0")
        frame = frame.merge(pd.DataFrame({"outlet_id": list(given)}), on="outlet_id", how="outer")
        hit = frame["outlet_id"].isin(given)
        frame.loc[hit, "account_managers"] = frame.loc[hit, "outlet_id"].map(given)
        frame.loc[hit, "managers_source"] = "override"
        frame["account_managers"] = frame["account_managers"].astype("int64")
    frame["capacity"] = frame["account_managers"] * per_manager_week * weeks
    return pa.Table.from_pandas(frame.sort_values("outlet_id"), preserve_index=False)


def declined_recently(
    warehouse: Path, as_of: date, days: int = 30, *, engine: Engine | None = None
) -> pa.Array:
    """Customers whose last CRM contact in the ``days`` days ending on ``as_of`` was declined (冷静期)."""
    eng, own = _engine(engine)
    try:
        contacts = last_days(eng.table(warehouse, "crm_contacts"), "contact_at", as_of, days)
        last = ibis.row_number().over(
            group_by="customer_id", order_by=[ibis.desc("contact_at"), ibis.desc("contact_id")]
        )
        ranked = contacts.mutate(_k=last)
        latest = ranked.filter((ranked._k == 0) & (ranked.outcome == ContactOutcome.DECLINED.value))
        table = eng.to_pyarrow(latest.select("customer_id"))
    finally:
        if own:
            eng.close()
    return _id_array(table.column("customer_id"))


def contacted_recently(
    warehouse: Path, as_of: date, days: int, purposes: Iterable[str], *, engine: Engine | None = None
) -> dict[str, pa.Array]:
    """Customers contacted for each ``crm_contacts.purpose`` in the ``days`` days ending on ``as_of``."""
    wanted = sorted(set(purposes))
    known = {p.value for p in ContactPurpose}
    bad = [p for p in wanted if p not in known]
    if bad:
        raise YoushuError(f"unknown contact purpose(s) {bad}; choose from {sorted(known)}")
    if not wanted:
        return {}
    eng, own = _engine(engine)
    try:
        contacts = last_days(eng.table(warehouse, "crm_contacts"), "contact_at", as_of, days)
        hits = contacts.filter(contacts.purpose.isin(wanted)).select("purpose", "customer_id").distinct()
        table = eng.to_pyarrow(hits)
    finally:
        if own:
            eng.close()
    purpose = table.column("purpose")
    return {p: _id_array(table.column("customer_id").filter(pc.equal(purpose, p))) for p in wanted}


def read_id_file(path: Path, what: str = "id file") -> pa.Array:
    """Customer ids from a Parquet or CSV file with a ``customer_id`` column, or a text file of one id a line."""
    path = Path(path)
    if not path.is_file():
        raise YoushuError(f"{what} {path} does not exist")
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    elif path.suffix == ".csv":
        table = pa.Table.from_pandas(pd.read_csv(path, dtype=str), preserve_index=False)
    else:
        lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines()]
        return pa.array([x for x in lines if x and x != "customer_id"], pa.string())
    return _id_array(_column(table, "customer_id", f"{what} {path}", "string"))


def read_risky(source: Path | Iterable[str], as_of: date | None = None) -> pa.Array:
    """Customers flagged 风险账户 (``is_risky_account``), from the risk step's flag table or a list of ids.

    ``source`` is an iterable of ids, a ``customer_risk_flags`` folder (the latest ``as_of_date=`` on or
    before ``as_of`` is used), one ``as_of_date=`` folder, or a Parquet file.
    """
    if not isinstance(source, (str, Path)):
        return _id_array(source)
    path = Path(source)
    if not path.exists():
        raise YoushuError(f"risk flags {path} do not exist; run youshu risk score or pass customer ids")
    dates = sorted(p for p in path.glob("as_of_date=*") if p.is_dir()) if path.is_dir() else []
    if dates:
        usable = [p for p in dates if as_of is None or p.name.split("=", 1)[1] <= as_of.isoformat()]
        if not usable:
            raise YoushuError(f"risk flags {path} have no as_of_date on or before {as_of}")
        path = usable[-1]
    files = parquet_files(path)
    if not files:
        raise YoushuError(f"risk flags {path} hold no Parquet files")
    table = ds.dataset(files, format="parquet").to_table()
    what = f"risk flags {path}"
    ids = _column(table, "customer_id", what, "string")
    if "is_risky_account" not in table.column_names:
        raise YoushuError(
            f"{what} has no column 'is_risky_account'; columns: {', '.join(table.column_names)}"
        )
    return _id_array(ids.filter(pc.fill_null(table.column("is_risky_account"), False)))
