"""The FastAPI application: state, dependencies (who is asking, what they may see), error answers, headers.

Routes live in ``youshu.app.pages`` (server-rendered zh-CN pages) and ``youshu.app.api`` (JSON under
``/api/v1``). Each gets a :class:`Context` from the :func:`context` dependency; its ``data`` is the
:class:`~youshu.app.access.ScopedData` of the user, the only way to read the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import quote

import plotly.graph_objects as go
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from youshu.app import audit
from youshu.app.access import Forbidden, OutOfScope, Principal, ScopedData, resolve_outlets
from youshu.app.db import make_engine, migrate, session_factory
from youshu.app.lru import LruCache
from youshu.app.roles import Permission, Role
from youshu.app.rundata import RunData, RunDataError
from youshu.app.security import SESSION_COOKIE, Throttle, session_user, tokens_match
from youshu.app.settings import AppSettings
from youshu.tags.audience import AudienceError

HERE = Path(__file__).parent
T = TypeVar("T")


class LoginRequired(Exception):
    """No valid session: pages redirect to the login page, the API answers 401."""


class CsrfFailed(Exception):
    """A form post without the session's CSRF token (answered 403)."""


@dataclass
class Context:
    """Everything a route needs about the request: the user, their scoped data, the app database."""

    request: Request
    principal: Principal
    data: ScopedData
    db: Session
    csrf_token: str

    @property
    def ip(self) -> str:
        """The client address."""
        return self.request.client.host if self.request.client else ""

    def audit(self, action: str, resource: str, **detail: Any) -> None:
        """Record an audit event for this user."""
        audit.record(
            self.db,
            username=self.principal.username,
            role=self.principal.role.value,
            action=action,
            resource=resource,
            ip=self.ip,
            **detail,
        )

    def memo(self, name: str, build: Callable[[], T]) -> T:
        """``build()`` once per run, role and scope, then from memory: for charts and summaries that depend only
        on the scoped data (the run never changes while the app serves it). ``name`` must say everything else
        the value depends on (e.g. the outlet id of the page)."""
        cache: LruCache = self.request.app.state.memo
        key = (name, self.principal.role.value, self.principal.outlets)
        found = cache.get(key)
        if found is None:
            found = build()
            cache.put(key, found)
        return cast(T, found)

    def render(self, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
        """A page from ``templates/`` with the user, run and CSRF token in its context."""
        templates: Jinja2Templates = self.request.app.state.templates
        return templates.TemplateResponse(
            self.request,
            template,
            {
                "user": self.principal,
                "run": self.data.run,
                "csrf_token": self.csrf_token,
                "Permission": Permission,
                **values,
            },
            status_code=status_code,
        )


# -- dependencies -------------------------------------------------------------------------------------------------
def get_db(request: Request) -> Iterator[Session]:
    """One app-database session per request."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as db:
        yield db


def _context(request: Request, db: Session) -> Context:
    settings: AppSettings = request.app.state.settings
    found = session_user(db, request.cookies.get(SESSION_COOKIE), settings.session_hours)
    if found is None:
        raise LoginRequired()
    session, user = found
    run: RunData = request.app.state.run
    cache: dict[int, frozenset[str] | None] = request.app.state.scopes
    key = user.id
    if key not in cache:
        cache[key] = resolve_outlets(user.scope_kind, user.scope_values.split(","), run)
    principal = Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        outlets=cache[key],
    )
    ctx = Context(request, principal, ScopedData(run, principal), db, session.csrf_token)
    query = f"?{request.url.query}" if request.url.query else ""
    ctx.audit("view", f"{request.method} {request.url.path}{query}")
    return ctx


def context(request: Request, db: Session = Depends(get_db)) -> Context:
    """The context of a logged-in request (every view is audited). Without a session, pages redirect to
    ``/login`` and the API answers 401."""
    return _context(request, db)


async def check_csrf(request: Request, ctx: Context) -> None:
    """Raise :class:`CsrfFailed` unless the form field or ``X-CSRF-Token`` header carries the session's token."""
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not tokens_match(sent, ctx.csrf_token):
        raise CsrfFailed()


# -- rendering helpers --------------------------------------------------------------------------------------------
def figure_json(fig: go.Figure) -> str:
    """A plotly figure as JSON for ``<script type="application/json" class="figure">`` (drawn by app.js)."""
    return fig.to_json()


def _fmt_int(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{int(value):,}"


def _fmt_pct(value: Any, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


def _fmt_yuan(fen: Any) -> str:
    """Money in fen as 万元 with two decimals."""
    if fen is None or (isinstance(fen, float) and math.isnan(fen)):
        return "—"
    return f"{float(fen) / 1_000_000:,.2f} 万元"


def _fmt_num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{float(value):.{digits}f}"


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters.update(
        int=_fmt_int, pct=_fmt_pct, yuan=_fmt_yuan, num=_fmt_num, urlquote=lambda v: quote(str(v), safe="")
    )
    templates.env.globals["today"] = date.today
    return templates


# -- the app --------------------------------------------------------------------------------------------------------
def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


SECURITY_HEADERS = {
    # Scripts only from this server (plotly.js and app.js under /static); plotly injects <style> tags.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def create_app(settings: AppSettings, *, migrate_db: bool = True, warm: bool = True) -> FastAPI:
    """The workbench for ``settings.run_folder``.

    Parameters
    ----------
    settings : AppSettings
    migrate_db : bool
        Bring the app database to the latest migration first.
    warm : bool
        Load every run table now rather than on the first request.
    """
    app = FastAPI(
        title="邮数 youshu workbench API",
        version="1",
        description=(
            "Read-only JSON API over one pipeline run: customers (tags, IVL, scores), target lists, merchant "
            "circles, risk and merchant alerts, audiences. Every answer is limited to the caller's outlets and "
            "masks personal data by role. Log in at /login (session cookie)."
        ),
        # Swagger UI would load from a CDN with inline scripts: the schema is served, the UI is not.
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    engine = make_engine(settings.database_url)
    if migrate_db:
        migrate(engine)
    run = RunData(settings.run_folder, settings.warehouse)
    if warm:
        run.warm()
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.run = run
    app.state.scopes = {}
    app.state.memo = LruCache(4096)
    app.state.templates = _templates()
    app.state.throttle = Throttle(
        failures=settings.login_failures,
        window=timedelta(minutes=settings.login_window_minutes),
    )

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _error(
        request: Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> Response:
        if _wants_html(request):
            templates: Jinja2Templates = request.app.state.templates
            return templates.TemplateResponse(
                request,
                "error.html",
                {"status": status, "message": message, "user": None},
                status_code=status,
                headers=headers,
            )
        return JSONResponse({"detail": message}, status_code=status, headers=headers)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired) -> Response:
        if _wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        return JSONResponse(
            {"detail": "未登录 not logged in: POST /login first (session cookie)"},
            status_code=401,
        )

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        return _error(request, 403, "表单已过期或来源不明，请刷新页面后重试 missing or wrong CSRF token")

    @app.exception_handler(OutOfScope)
    async def _scope(request: Request, exc: OutOfScope) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(AudienceError)
    async def _audience(request: Request, exc: AudienceError) -> Response:
        return _error(request, 422, f"客群表达式有误 invalid audience expression: {exc}")

    @app.exception_handler(RunDataError)
    async def _rundata(request: Request, exc: RunDataError) -> Response:
        return _error(request, 404, f"本次运行没有这部分结果 this run has no such output: {exc}")

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            problems.append({"field": where, "message": error.get("msg", ""), "type": error.get("type", "")})
        summary = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        if _wants_html(request):
            return _error(request, 422, f"请求参数有误 invalid input: {summary}")
        return JSONResponse({"detail": f"invalid input: {summary}", "errors": problems}, status_code=422)

    plotly_js: list[bytes] = []

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def _plotly() -> Response:
        """plotly.js from the installed plotly package (no CDN)."""
        if not plotly_js:
            from plotly.offline import get_plotlyjs

            plotly_js.append(get_plotlyjs().encode())
        return Response(
            plotly_js[0], media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        )

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    from youshu.app.api import router as api_router
    from youshu.app.pages import router as pages_router

    app.include_router(pages_router)
    app.include_router(api_router)
    return app
