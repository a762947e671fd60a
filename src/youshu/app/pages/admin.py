"""管理 administration: the audit log (who viewed, exported or unmasked what, when) and the user list."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from youshu.app.db import AuditEvent, User
from youshu.app.roles import Permission, Role
from youshu.app.web import Context, context

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 100
ACTIONS = ("view", "export", "unmask", "login", "login_failed", "login_throttled", "logout")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_log(
    ctx: Context = Depends(context),
    username: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The audit log, newest first, filtered by user and action (administrators only)."""
    ctx.principal.require(Permission.ADMINISTER)
    query = select(AuditEvent)
    count = select(func.count()).select_from(AuditEvent)
    if username:
        query = query.where(AuditEvent.username == username)
        count = count.where(AuditEvent.username == username)
    if action:
        query = query.where(AuditEvent.action == action)
        count = count.where(AuditEvent.action == action)
    total = ctx.db.scalar(count) or 0
    events = ctx.db.scalars(
        query.order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return ctx.render(
        "admin_audit.html",
        page="admin",
        title="审计日志",
        events=events,
        total=total,
        pages=max(1, math.ceil(total / PAGE_SIZE)),
        current=page,
        username=username,
        action=action,
        actions=ACTIONS,
    )


@router.get("/admin/users", response_class=HTMLResponse)
def users(ctx: Context = Depends(context)) -> HTMLResponse:
    """Users with role, scope and state (administrators only; manage them with `youshu users`)."""
    ctx.principal.require(Permission.ADMINISTER)
    rows = ctx.db.scalars(select(User).order_by(User.username)).all()
    return ctx.render("admin_users.html", page="admin", title="用户", users=rows, Role=Role)
