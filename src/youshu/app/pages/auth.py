"""Login and logout pages: argon2-checked passwords, throttled, CSRF-protected, HttpOnly SameSite cookies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from youshu.app import audit
from youshu.app.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginRefused,
    LoginThrottled,
    authenticate,
    end_session,
    new_token,
    start_session,
    tokens_match,
)
from youshu.app.settings import AppSettings
from youshu.app.web import Context, check_csrf, context, get_db

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect to another site after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_page(
    request: Request,
    *,
    status: int = 200,
    error: str = "",
    username: str = "",
    next_url: str = "/",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    settings: AppSettings = request.app.state.settings
    token = new_token()
    response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "user": None,
            "login_csrf": token,
            "error": error,
            "username": username,
            "next": _safe_next(next_url),
        },
        status_code=status,
        headers=headers,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form (sets a fresh login CSRF cookie)."""
    return _login_page(request, next_url=next)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=512)] = "/",
    db: Session = Depends(get_db),
) -> Response:
    """Check the password (throttled), start a session and go to ``next``."""
    ip = request.client.host if request.client else ""
    if not tokens_match(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(
            request,
            status=403,
            error="登录表单已过期，请重新输入 the form expired; try again",
            username=username,
            next_url=next,
        )
    try:
        user = authenticate(db, username, password, ip, request.app.state.throttle)
    except LoginThrottled as exc:
        audit.record(db, username=username[:64], role="", action="login_throttled", resource="/login", ip=ip)
        return _login_page(
            request,
            status=429,
            error=str(exc),
            username=username,
            next_url=next,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except LoginRefused as exc:
        audit.record(db, username=username[:64], role="", action="login_failed", resource="/login", ip=ip)
        return _login_page(request, status=401, error=str(exc), username=username, next_url=next)
    settings: AppSettings = request.app.state.settings
    token, _ = start_session(db, user, settings.session_hours)
    audit.record(db, username=user.username, role=user.role, action="login", resource="/login", ip=ip)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=int(settings.session_hours * 3600),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, ctx: Context = Depends(context)) -> Response:
    """End the session (CSRF-checked)."""
    await check_csrf(request, ctx)
    end_session(ctx.db, request.cookies.get(SESSION_COOKIE))
    ctx.audit("logout", "/logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
