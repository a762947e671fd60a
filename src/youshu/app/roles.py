"""Roles and what each may do. Scope (which outlets) is separate: see ``youshu.app.access``."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The four roles of the workbench."""

    ADMIN = "admin"
    ANALYST = "analyst"
    OUTLET_MANAGER = "outlet_manager"
    VIEWER = "viewer"

    @property
    def zh(self) -> str:
        """Display name."""
        return ROLE_ZH[self]


class Permission(StrEnum):
    """Things a role may do beyond reading the pages of its scope."""

    #: customer-level rows (lists, drill-downs, customer pages); viewers see aggregates only
    CUSTOMER_ROWS = "customer_rows"
    #: download lists and audiences (Excel/CSV), stamped with the user and time
    EXPORT = "export"
    #: see a customer's unmasked name, phone and ID number, with a stated reason (logged)
    UNMASK = "unmask"
    #: build audiences from tag expressions
    AUDIENCE = "audience"
    #: users and the audit log
    ADMINISTER = "administer"


ROLE_ZH = {
    Role.ADMIN: "管理员",
    Role.ANALYST: "分析师",
    Role.OUTLET_MANAGER: "网点负责人",
    Role.VIEWER: "只读用户",
}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.ANALYST: frozenset({Permission.CUSTOMER_ROWS, Permission.EXPORT, Permission.AUDIENCE}),
    # Outlet staff call their own customers: they may unmask, one customer at a time, with a reason.
    Role.OUTLET_MANAGER: frozenset(
        {Permission.CUSTOMER_ROWS, Permission.EXPORT, Permission.UNMASK, Permission.AUDIENCE}
    ),
    Role.VIEWER: frozenset(),
}
