"""Server-rendered zh-CN pages of the workbench (Jinja2 templates in ``youshu/app/templates``)."""

from __future__ import annotations

from fastapi import APIRouter

from youshu.app.pages import admin, audience, auth, catalogue, circles, customers, lists, overview, risk

router = APIRouter()
for _module in (auth, overview, circles, customers, lists, audience, risk, catalogue, admin):
    router.include_router(_module.router)
