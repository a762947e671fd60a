"""JSON API under ``/api/v1`` (OpenAPI at ``/api/openapi.json``): the same data as the pages, paginated."""

from __future__ import annotations

from fastapi import APIRouter

from youshu.app.api import alerts, audience, circles, customers, lists, me
from youshu.app.api.common import ERRORS

router = APIRouter(prefix="/api/v1", responses=ERRORS)
for _module in (me, customers, lists, circles, alerts, audience):
    router.include_router(_module.router)
