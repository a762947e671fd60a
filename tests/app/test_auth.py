"""Logging in and staying safe: argon2id passwords, one refusal message, CSRF on the login and logout forms,
cookie flags, hashed session tokens, throttling, disabled users, local-only redirects, security headers, the
audit trail of page views, and what anonymous requests get. Runs on every app database of the ``workbench``."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from tests.app.conftest import PASSWORD, Workbench, login

from youshu.app import AppSettings, create_app
from youshu.app.db import AuditEvent, LoginSession, User
from youshu.app.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, create_user

REFUSED = "用户名或密码错误 wrong user name or password"


def _throwaway_user(workbench: Workbench, role: str = "analyst") -> str:
    """A fresh user (so throttling or disabling it leaves the standard users alone); returns its name."""
    name = f"tmp_{secrets.token_hex(4)}"
    with workbench.app.state.sessions() as db:
        create_user(db, name, PASSWORD, role)
    return name


def _client(workbench: Workbench, address: str | None = None) -> TestClient:
    """An anonymous client; ``address`` gives it its own client IP (its own per-address failure count)."""
    if address is None:
        return TestClient(workbench.app, follow_redirects=False)
    return TestClient(workbench.app, follow_redirects=False, client=(address, 50000))


def _login_token(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the login form has no CSRF token"
    return found.group(1)


def _post_login(
    client: TestClient, username: str, password: str, *, next_url: str = "/", token: str | None = None
) -> Response:
    """Post the login form as a browser would: fetch the form (login CSRF cookie + token) first."""
    token = _login_token(client) if token is None else token
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )


def _error_text(page: str) -> str:
    found = re.search(r'data-testid="login-error">([^<]*)<', page)
    assert found, "the login page shows no error"
    return found.group(1)


def _set_cookies(response: Response, name: str) -> list[str]:
    return [v for v in response.headers.get_list("set-cookie") if v.startswith(f"{name}=")]


def _page_csrf(client: TestClient) -> str:
    page = client.get("/")
    assert page.status_code == 200
    found = re.search(r'action="/logout"><input type="hidden" name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no logout form with a CSRF token"
    return found.group(1)


# -- passwords and refusals ------------------------------------------------------------------------------------------
def test_password_is_stored_as_argon2id_never_plain(workbench: Workbench) -> None:
    with workbench.app.state.sessions() as db:
        stored = db.scalar(select(User.password_hash).where(User.username == "admin"))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert PasswordHasher().verify(stored, PASSWORD)


def test_wrong_password_and_unknown_user_get_the_same_401_message(workbench: Workbench) -> None:
    name = _throwaway_user(workbench)
    client = _client(workbench, "198.51.100.1")
    wrong = _post_login(client, name, "not-the-password")
    unknown = _post_login(client, f"nobody_{secrets.token_hex(4)}", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert _error_text(wrong.text) == _error_text(unknown.text) == REFUSED
    assert not _set_cookies(wrong, SESSION_COOKIE) and not _set_cookies(unknown, SESSION_COOKIE)
    # the form comes back with the name filled in, never the password
    assert f'value="{name}"' in wrong.text and "not-the-password" not in wrong.text


def test_login_without_the_login_csrf_token_or_cookie_is_403(workbench: Workbench) -> None:
    client = _client(workbench)
    no_token = _post_login(client, "admin", PASSWORD, token="")
    assert no_token.status_code == 403
    wrong_token = _post_login(client, "admin", PASSWORD, token=secrets.token_urlsafe(32))
    assert wrong_token.status_code == 403
    # a token from the form but no cookie (e.g. posted from another site)
    token = _login_token(client)
    client.cookies.clear()
    no_cookie = _post_login(client, "admin", PASSWORD, token=token)
    assert no_cookie.status_code == 403
    for answer in (no_token, wrong_token, no_cookie):
        assert not _set_cookies(answer, SESSION_COOKIE)
        assert "missing or wrong CSRF token" in answer.text or "form expired" in answer.text


# -- cookies and sessions -------------------------------------------------------------------------------------------
def test_session_cookie_is_httponly_samesite_lax_and_not_secure_by_default(workbench: Workbench) -> None:
    answer = _post_login(_client(workbench), "analyst", PASSWORD)
    assert answer.status_code == 303
    (cookie,) = _set_cookies(answer, SESSION_COOKIE)
    flags = {part.strip().split("=")[0].lower(): part.strip() for part in cookie.split(";")[1:]}
    assert "httponly" in flags
    assert flags["samesite"].lower() == "samesite=lax"
    assert flags["path"] == "Path=/"
    assert "secure" not in flags


def test_cookies_are_secure_when_settings_ask(app_run: tuple[Path, Path], tmp_path: Path) -> None:
    folder, warehouse = app_run
    settings = AppSettings(
        run_folder=folder,
        warehouse=warehouse,
        database_url=f"sqlite:///{tmp_path / 'secure.db'}",
        secure_cookies=True,
    )
    app = create_app(settings, warm=False)
    try:
        with app.state.sessions() as db:
            create_user(db, "secure_admin", PASSWORD, "admin")
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        form = client.get("/login")
        (login_cookie,) = _set_cookies(form, LOGIN_CSRF_COOKIE)
        assert "secure" in login_cookie.lower() and "httponly" in login_cookie.lower()
        answer = _post_login(client, "secure_admin", PASSWORD)
        assert answer.status_code == 303
        (cookie,) = _set_cookies(answer, SESSION_COOKIE)
        parts = [p.strip().lower() for p in cookie.split(";")]
        assert "secure" in parts and "httponly" in parts and "samesite=lax" in parts
    finally:
        app.state.engine.dispose()


def test_database_holds_only_the_sha256_of_the_session_token(workbench: Workbench) -> None:
    client = workbench.client("analyst")
    token = client.cookies[SESSION_COOKIE]
    assert len(token) >= 32
    digest = hashlib.sha256(token.encode()).hexdigest()
    with workbench.app.state.sessions() as db:
        rows = db.scalars(select(LoginSession)).all()
    assert digest in {r.token_hash for r in rows}
    for row in rows:
        assert token not in (row.token_hash, row.csrf_token)


def test_logout_needs_the_csrf_token_and_ends_the_session(workbench: Workbench) -> None:
    client = workbench.client("analyst")
    client.follow_redirects = False
    token = client.cookies[SESSION_COOKIE]
    csrf = _page_csrf(client)
    refused = client.post("/logout", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    refused = client.post("/logout")
    assert refused.status_code == 403
    assert client.get("/").status_code == 200  # still logged in
    done = client.post("/logout", data={"csrf_token": csrf})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    digest = hashlib.sha256(token.encode()).hexdigest()
    with workbench.app.state.sessions() as db:
        assert db.get(LoginSession, digest) is None
    # the old cookie is dead on the server, not just deleted in this browser
    replay = _client(workbench)
    replay.cookies.set(SESSION_COOKIE, token)
    assert replay.get("/").status_code == 303
    assert replay.get("/api/v1/me").status_code == 401


# -- throttling and disabled users -----------------------------------------------------------------------------------
def test_sixth_login_after_five_failures_is_429_with_retry_after(workbench: Workbench) -> None:
    name = _throwaway_user(workbench)
    client = _client(workbench, "198.51.100.2")
    for _ in range(5):
        assert _post_login(client, name, "wrong-password-1").status_code == 401
    throttled = _post_login(client, name, PASSWORD)  # the right password, too late
    assert throttled.status_code == 429
    retry = int(throttled.headers["retry-after"])
    assert 0 < retry <= 15 * 60 + 1
    assert not _set_cookies(throttled, SESSION_COOKIE)
    assert "too many failed logins" in throttled.text
    # another user from another address is not affected
    login(_client(workbench, "198.51.100.3"), "viewer")
    with workbench.app.state.sessions() as db:
        actions = db.scalars(select(AuditEvent.action).where(AuditEvent.username == name)).all()
    assert actions.count("login_failed") == 5 and "login_throttled" in actions


def test_one_address_is_throttled_after_four_times_the_user_limit(workbench: Workbench) -> None:
    client = _client(workbench, "198.51.100.4")
    limit = workbench.app.state.throttle.failures * 4
    for i in range(limit):
        assert _post_login(client, f"guess_{i}_{secrets.token_hex(2)}", "x" * 8).status_code == 401
    assert _post_login(client, "analyst", PASSWORD).status_code == 429
    login(_client(workbench, "198.51.100.5"), "analyst")  # the same user elsewhere still logs in


def test_disabled_user_cannot_use_an_existing_session(workbench: Workbench) -> None:
    name = _throwaway_user(workbench)
    client = workbench.client(name)
    client.follow_redirects = False
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 200
    with workbench.app.state.sessions() as db:
        user = db.scalar(select(User).where(User.username == name))
        assert user is not None
        user.active = False
        db.commit()
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    refused = _post_login(_client(workbench, "198.51.100.6"), name, PASSWORD)
    assert refused.status_code == 401 and _error_text(refused.text) == REFUSED


def _browser_target(location: str) -> tuple[str, str]:
    """(host, path) a browser would go to from ``Location`` on http://testserver/login (it drops tabs and
    newlines and reads ``\\`` as ``/``)."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    target = urlsplit(urljoin("http://testserver/login", cleaned))
    return target.netloc, target.path


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/lists?page=2", "/lists?page=2"),
        ("https://evil.example/x", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example/x", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", None),
        ("javascript:alert(1)", "/"),
    ],
)
def test_next_redirects_only_to_local_paths(
    workbench: Workbench, next_url: str, expected: str | None
) -> None:
    answer = _post_login(_client(workbench), "viewer", PASSWORD, next_url=next_url)
    assert answer.status_code == 303
    location = answer.headers["location"]
    if expected is not None:
        assert location == expected
    host, _path = _browser_target(location)
    assert host == "testserver"


def test_login_form_keeps_only_a_local_next(workbench: Workbench) -> None:
    page = _client(workbench).get("/login", params={"next": "https://evil.example/"})
    assert 'name="next" value="/"' in page.text
    page = _client(workbench).get("/login", params={"next": "/risk?level=high"})
    assert 'name="next" value="/risk?level=high"' in page.text


# -- headers, audit and anonymous requests ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/api/v1/me", "/login", "/circles/NO_SUCH_OUTLET_ZZ"])
def test_security_headers_on_pages_api_and_errors(workbench: Workbench, path: str) -> None:
    client = workbench.client("analyst")
    answer = client.get(path, follow_redirects=False)
    headers = answer.headers
    csp = headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert "no-store" in headers["cache-control"]


def test_static_files_carry_the_headers_but_may_be_cached(workbench: Workbench) -> None:
    answer = _client(workbench).get("/static/app.css")
    assert answer.status_code == 200
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in answer.headers.get("cache-control", "")


def test_every_authenticated_view_is_audited_with_user_and_path(workbench: Workbench) -> None:
    client = workbench.client("manager_a")
    probe = secrets.token_hex(4)
    assert client.get("/", params={"probe": probe}).status_code == 200
    assert client.get("/api/v1/me", params={"probe": probe}).status_code == 200
    with workbench.app.state.sessions() as db:
        events = db.scalars(select(AuditEvent).where(AuditEvent.resource.contains(probe))).all()
    seen = {(e.username, e.role, e.action, e.resource) for e in events}
    assert seen == {
        ("manager_a", "outlet_manager", "view", f"GET /?probe={probe}"),
        ("manager_a", "outlet_manager", "view", f"GET /api/v1/me?probe={probe}"),
    }
    assert all(e.ip == "testclient" for e in events)


def test_login_and_logout_are_audited(workbench: Workbench) -> None:
    name = _throwaway_user(workbench)
    client = workbench.client(name)
    client.post("/logout", data={"csrf_token": _page_csrf(client)}, follow_redirects=False)
    with workbench.app.state.sessions() as db:
        actions = db.scalars(
            select(AuditEvent.action).where(AuditEvent.username == name).order_by(AuditEvent.id)
        ).all()
    assert actions[0] == "login" and actions[-1] == "logout"


def test_api_without_login_is_401_json(workbench: Workbench) -> None:
    answer = _client(workbench).get("/api/v1/me")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/json")
    assert "not logged in" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/", "/login?next=%2F"),
        ("/admin/audit?action=login", "/login?next=%2Fadmin%2Faudit%3Faction%3Dlogin"),
    ],
)
def test_pages_without_login_redirect_to_the_login_form(
    workbench: Workbench, path: str, location: str
) -> None:
    answer = _client(workbench).get(path)
    assert answer.status_code == 303
    assert answer.headers["location"] == location


def test_a_forged_session_cookie_is_not_a_login(workbench: Workbench) -> None:
    client = _client(workbench)
    client.cookies.set(SESSION_COOKIE, secrets.token_urlsafe(32))
    assert client.get("/").status_code == 303
    assert client.get("/api/v1/me").status_code == 401
