"""Passwords (argon2), sessions (random token in an HttpOnly SameSite cookie, SHA-256 stored), CSRF tokens and
login throttling. Nothing here is hand-rolled crypto: argon2-cffi hashes, ``secrets`` makes tokens, ``hashlib``
digests them and ``hmac.compare_digest`` compares them."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from youshu.app.db import LoginAttempt, LoginSession, User, utcnow
from youshu.app.roles import Role
from youshu.errors import YoushuError

SESSION_COOKIE = "youshu_session"
LOGIN_CSRF_COOKIE = "youshu_login_csrf"

_hasher = PasswordHasher()
# A hash to verify against when the user does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("youshu-no-such-user")


class LoginRefused(YoushuError):
    """Wrong user name or password (one message for both)."""


class LoginThrottled(YoushuError):
    """Too many failed logins recently; ``retry_after`` seconds until the window passes."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UserError(YoushuError):
    """A user cannot be created or changed as asked."""


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    if len(password) < 8:
        raise UserError("密码至少 8 位 the password needs at least 8 characters")
    return _hasher.hash(password)


def token_digest(token: str) -> str:
    """SHA-256 hex of a session token (the database never holds the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A random URL-safe token (256 bits)."""
    return secrets.token_urlsafe(32)


def tokens_match(a: str | None, b: str | None) -> bool:
    """Constant-time comparison; missing tokens never match."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def create_user(
    db: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    display_name: str = "",
    scope_kind: str = "all",
    scope_values: list[str] | tuple[str, ...] = (),
) -> User:
    """Add a user (committed). Outlet managers need an outlet or county scope."""
    try:
        role = Role(role)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise UserError(f"角色 role {role!r}: expected one of {choices}") from None
    if not username or len(username) > 64 or not username.replace("_", "").replace(".", "").isalnum():
        raise UserError(f"用户名 user name {username!r}: letters, digits, '_' and '.' only, at most 64")
    if scope_kind not in ("all", "outlets", "counties"):
        raise UserError(f"scope {scope_kind!r}: expected all, outlets or counties")
    if scope_kind != "all" and not scope_values:
        raise UserError(f"scope {scope_kind} needs at least one id")
    if role is Role.OUTLET_MANAGER and scope_kind == "all":
        raise UserError("网点负责人 outlet_manager needs an outlet or county scope (--outlets or --counties)")
    if db.scalar(select(User).where(User.username == username)) is not None:
        raise UserError(f"用户 user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role.value,
        scope_kind=scope_kind,
        scope_values=",".join(scope_values),
        active=True,
    )
    db.add(user)
    db.commit()
    return user


@dataclass(frozen=True)
class Throttle:
    """Failed logins allowed per user name (and ``4 × failures`` per address) within ``window``."""

    failures: int = 5
    window: timedelta = timedelta(minutes=15)


def _check_throttle(db: Session, username: str, ip: str, throttle: Throttle, now: datetime) -> None:
    since = now - throttle.window
    rows = [
        (LoginAttempt.username == username, throttle.failures, "该用户 this user"),
        (LoginAttempt.ip == ip, throttle.failures * 4, "该地址 this address"),
    ]
    for condition, limit, who in rows:
        failed = db.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                condition, LoginAttempt.at >= since, LoginAttempt.ok.is_(False)
            )
        ).one()
        if failed[0] >= limit:
            retry = int((failed[1] + throttle.window - now).total_seconds()) + 1
            raise LoginThrottled(
                f"{who}登录失败次数过多，请 {max(retry // 60, 1)} 分钟后再试 too many failed logins; "
                f"try again in {retry} s",
                retry_after=max(retry, 1),
            )


def authenticate(db: Session, username: str, password: str, ip: str, throttle: Throttle) -> User:
    """The active user with this name and password; records the attempt.

    Raises
    ------
    LoginThrottled
        Before checking the password, when this user name or address failed too often recently.
    LoginRefused
        Wrong name or password, or a disabled user (one message for all three).
    """
    now = utcnow()
    username = username.strip()[:64]
    _check_throttle(db, username, ip, throttle, now)
    user = db.scalar(select(User).where(User.username == username))
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    db.add(LoginAttempt(username=username, ip=ip[:64], at=now, ok=ok))
    db.commit()
    if not ok or user is None:
        raise LoginRefused("用户名或密码错误 wrong user name or password")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.commit()
    return user


def start_session(db: Session, user: User, hours: float) -> tuple[str, LoginSession]:
    """A new session for ``user``: returns the cookie token and the row (with its CSRF token)."""
    token = new_token()
    now = utcnow()
    row = LoginSession(
        token_hash=token_digest(token),
        user_id=user.id,
        csrf_token=new_token(),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    db.add(row)
    db.execute(delete(LoginSession).where(LoginSession.expires_at < now))
    db.commit()
    return token, row


def session_user(db: Session, token: str | None, hours: float) -> tuple[LoginSession, User] | None:
    """The live session and active user for a cookie token; extends the session (sliding expiry)."""
    if not token:
        return None
    row = db.get(LoginSession, token_digest(token))
    now = utcnow()
    if row is None or row.expires_at < now:
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if row.expires_at - now < timedelta(hours=hours) - timedelta(minutes=5):
        row.expires_at = now + timedelta(hours=hours)
        db.commit()
    return row, user


def end_session(db: Session, token: str | None) -> None:
    """Delete the session of ``token`` (logout)."""
    if token:
        db.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))
        db.commit()
