"""The one place where scope is enforced: every row a page or API returns comes through :class:`ScopedData`.

A :class:`Principal` is the logged-in user with role and scope (``None`` = the whole province). Each table of
the run is registered in :data:`TABLES` with the column naming the outlet that owns its rows; reading it through
:meth:`ScopedData.table` keeps only rows of outlets in scope. Tables without an owning outlet are province-level
aggregates (no customer or merchant rows); ``ScopedData`` refuses customer-level reads for roles without
:attr:`~youshu.app.roles.Permission.CUSTOMER_ROWS` and masks personal data unless the role may unmask.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa

from youshu.app.roles import PERMISSIONS, Permission, Role
from youshu.app.rundata import TABLES, RunData
from youshu.errors import YoushuError
from youshu.privacy import mask_id_card, mask_name, mask_phone

#: Personal-data columns and their maskers, wherever they appear in a table.
PII_COLUMNS = {"name": mask_name, "phone": mask_phone, "id_card_no": mask_id_card, "holder_name": mask_name}


class Forbidden(YoushuError):
    """The role may not do this (answered 403)."""


class OutOfScope(YoushuError):
    """The entity is not in the user's scope, or does not exist (answered 404, so existence does not leak)."""


@dataclass(frozen=True)
class Principal:
    """A logged-in user as the app sees them.

    Attributes
    ----------
    outlets : frozenset of str, optional
        Outlets in scope; ``None`` means every outlet. County scopes are expanded to their outlets at login.
    """

    user_id: int
    username: str
    display_name: str
    role: Role
    outlets: frozenset[str] | None

    def can(self, permission: Permission) -> bool:
        """Whether the role allows ``permission``."""
        return permission in PERMISSIONS[self.role]

    def require(self, permission: Permission) -> None:
        """Raise :class:`Forbidden` unless the role allows ``permission``."""
        if not self.can(permission):
            raise Forbidden(f"角色 {self.role.zh} ({self.role.value}) 无权限 may not: {permission.value}")

    def sees_outlet(self, outlet_id: str) -> bool:
        """Whether ``outlet_id`` is in scope."""
        return self.outlets is None or outlet_id in self.outlets


def resolve_outlets(kind: str, values: Iterable[str], run: RunData) -> frozenset[str] | None:
    """The outlets a stored scope (``all`` / ``outlets`` / ``counties``) covers in this run."""
    wanted = {v.strip() for v in values if v.strip()}
    if kind == "all":
        return None
    outlets = run.outlets
    if kind == "outlets":
        return frozenset(outlets.loc[outlets["outlet_id"].isin(wanted), "outlet_id"])
    if kind == "counties":
        return frozenset(outlets.loc[outlets["county_id"].isin(wanted), "outlet_id"])
    raise YoushuError(f"unknown scope kind {kind!r}: expected all, outlets or counties")


class ScopedData:
    """The run as one user may see it. Routes read data only through this class."""

    def __init__(self, run: RunData, principal: Principal, *, unmask_customer: str | None = None) -> None:
        if unmask_customer is not None:
            principal.require(Permission.UNMASK)
        self.run = run
        self.principal = principal
        self._unmask_customer = unmask_customer

    # -- the filter ---------------------------------------------------------------------------------------------
    def table(self, name: str, **equals: str) -> pd.DataFrame:
        """Table ``name`` of the run (see :data:`TABLES`), only rows in scope, personal data masked by role.

        Parameters
        ----------
        name : str
        **equals
            Keep only rows whose column equals the value (e.g. ``customer_id="C000000001"``), applied before
            anything else so single-row reads stay cheap.

        Raises
        ------
        Forbidden
            For customer-level tables when the role has no ``customer_rows`` permission.
        """
        spec = TABLES[name]
        if spec.customer_rows:
            self.principal.require(Permission.CUSTOMER_ROWS)
        frame = self._scoped(name, masked(self.run, name))
        for column, value in equals.items():
            frame = frame[frame[column] == value]
        if self._unmask_customer is not None and "customer_id" in frame.columns:
            frame = self._unmask(name, frame)
        return frame

    def _scoped(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` (table ``name``, raw or masked) whose owning outlet is in scope; computed once
        per run, table and scope (the run never changes while served), so repeated requests skip the filter."""
        spec = TABLES[name]
        outlets = self.principal.outlets
        if spec.outlet is None or outlets is None:
            return frame
        key = ("scoped", name, frame is self.run.table(name), outlets)
        found = self.run.scoped_cache.get(key)
        if found is not None:
            return cast(pd.DataFrame, found)
        keep = frame[spec.outlet].isin(outlets)
        if spec.owner == "merchant":
            # a merchant in the circle of an outlet in scope belongs to that outlet's work too
            circles = self.run.table("circle_members")
            mine = circles.loc[circles["outlet_id"].isin(outlets), "merchant_id"]
            keep |= frame["merchant_id"].isin(mine)
        found = frame[keep]
        self.run.scoped_cache.put(key, found)
        return found

    def aggregate(self, name: str, by: list[str], sums: tuple[str, ...] = ()) -> pd.DataFrame:
        """Rows (``rows``) and sums of ``sums`` per ``by`` over the rows in scope: an aggregate, so roles without
        ``customer_rows`` (viewers) may read it for customer-level tables too."""
        frame = self._scoped(name, self.run.table(name))
        if set(by) & set(PII_COLUMNS) or set(sums) & set(PII_COLUMNS):
            raise Forbidden("personal data cannot be grouped or summed")
        agg = {"rows": (by[0], "size"), **{c: (c, "sum") for c in sums}}
        return frame.groupby(by, observed=True, dropna=False).agg(**agg).reset_index()

    def outlet(self, outlet_id: str) -> pd.Series:
        """One outlet's row of ``outlets``; :class:`OutOfScope` when it is not in scope or unknown."""
        row = self.table("outlets", outlet_id=outlet_id)
        if row.empty:
            raise OutOfScope(f"网点 outlet {outlet_id} 不存在或不在您的范围内 not found or not in your scope")
        return row.iloc[0]

    def customer(self, customer_id: str) -> pd.Series:
        """One customer's master row; :class:`OutOfScope` when not in scope or unknown."""
        row = self.table("customers", customer_id=customer_id)
        if row.empty:
            raise OutOfScope(
                f"客户 customer {customer_id} 不存在或不在您的范围内 not found or not in your scope"
            )
        return row.iloc[0]

    def audience(self, expression: str) -> pd.DataFrame:
        """Customers matching a tag expression (``女性客群 AND NOT 沉睡客户``) among those in scope:
        ``customer_id`` and ``outlet_id`` in index order. Evaluated on the run's tag bitmaps.

        Raises
        ------
        Forbidden
            Without the ``audience`` permission.
        youshu.tags.audience.AudienceError
            For an expression that does not parse or names an unknown tag.
        """
        self.principal.require(Permission.AUDIENCE)
        index = self.run.audience()
        rows = np.fromiter(index.evaluate(expression), dtype=np.int64)
        ids = index.ids.take(pa.array(rows)).to_pandas()
        if index.outlets is None:
            raise YoushuError("the run's audience index has no outlet column; rerun `youshu run`")
        outlets = index.outlets.take(pa.array(rows)).to_pandas()
        frame = pd.DataFrame({"customer_id": ids, "outlet_id": outlets})
        if self.principal.outlets is not None:
            frame = frame[frame["outlet_id"].isin(self.principal.outlets)]
        return frame.reset_index(drop=True)

    def outlet_ids(self) -> list[str]:
        """Outlets in scope, sorted."""
        return sorted(self.table("outlets")["outlet_id"])

    # -- unmasking ----------------------------------------------------------------------------------------------
    def _unmask(self, name: str, frame: pd.DataFrame) -> pd.DataFrame:
        """The one customer's raw personal data put back into ``frame`` (already scope-filtered)."""
        rows = frame.index[frame["customer_id"] == self._unmask_customer]
        columns = [c for c in PII_COLUMNS if c in frame.columns]
        if len(rows) == 0 or not columns:
            return frame
        frame = frame.copy()
        frame.loc[rows, columns] = self.run.table(name).loc[rows, columns]
        return frame


_MASK_LOCK = threading.Lock()


def masked(run: RunData, name: str) -> pd.DataFrame:
    """Table ``name`` of ``run`` with every personal-data column masked, computed once per run and table (the
    same index as the raw table, so raw values can be put back row by row)."""
    frame = run.table(name)
    columns = [c for c in PII_COLUMNS if c in frame.columns]
    if not columns:
        return frame
    cache = run.masked_cache
    if name not in cache:
        with _MASK_LOCK:
            if name not in cache:
                out = frame.copy()
                for column in columns:
                    mask = PII_COLUMNS[column]
                    out[column] = [
                        v if v is None or (isinstance(v, float) and pd.isna(v)) else mask(str(v))
                        for v in frame[column]
                    ]
                cache[name] = out
    return cache[name]
