"""``youshu users add|list|disable|password`` on an app database in tmp_path, and ``youshu serve``'s help and
its answer when there is no run to show."""

from __future__ import annotations

from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, inspect, select
from tests.clirun import run_cli

from youshu.app.db import LoginSession, User, make_engine, session_factory
from youshu.app.security import start_session

PASSWORD_ENV = "YOUSHU_TEST_NEW_PASSWORD"
PASSWORD = "s3cret-enough"


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.delenv("YOUSHU_APP_DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'app.db'}"


def _users(args: list[str], url: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    return run_cli(["users", *args, "--database-url", url], capsys)


def _add(url: str, capsys: pytest.CaptureFixture[str], name: str, *options: str) -> tuple[int, str]:
    return _users(["add", name, *options, "--password-env", PASSWORD_ENV], url, capsys)


def _user(url: str, name: str) -> User | None:
    engine = make_engine(url)
    try:
        if not inspect(engine).has_table("users"):  # the command stopped before opening the database
            return None
        with session_factory(engine)() as db:
            return db.scalar(select(User).where(User.username == name))
    finally:
        engine.dispose()


def test_add_creates_a_user_with_an_argon2_hash(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _add(
        db_url, capsys, "wang", "--role", "outlet_manager", "--outlets", "O00001,O00002", "--name", "王经理"
    )
    assert code == 0, out
    assert "created wang" in out and "O00001, O00002" in out
    user = _user(db_url, "wang")
    assert user is not None and user.active
    assert (user.role, user.scope_kind, user.scope_values, user.display_name) == (
        "outlet_manager",
        "outlets",
        "O00001,O00002",
        "王经理",
    )
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
    assert PASSWORD not in out


def test_adding_the_same_user_twice_fails_clearly(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(db_url, capsys, "admin", "--role", "admin")[0] == 0
    code, out = _add(db_url, capsys, "admin", "--role", "viewer")
    assert code == 2
    assert "'admin' already exists" in out and "Traceback" not in out
    user = _user(db_url, "admin")
    assert user is not None and user.role == "admin"  # the first one is untouched


def test_outlet_manager_without_a_scope_fails_clearly(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = _add(db_url, capsys, "li", "--role", "outlet_manager")
    assert code == 2
    assert "outlet_manager needs an outlet or county scope (--outlets or --counties)" in out
    assert "Traceback" not in out
    assert _user(db_url, "li") is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--role", "superuser"], "superuser"),
        (["--role", "viewer", "--outlets", "O1", "--counties", "C1"], "not both"),
    ],
)
def test_bad_role_or_scope_options_fail_without_a_user(
    db_url: str, capsys: pytest.CaptureFixture[str], options: list[str], expected: str
) -> None:
    code, out = _add(db_url, capsys, "zhao", *options)
    assert code == 2, out
    assert expected in out and "Traceback" not in out
    assert _user(db_url, "zhao") is None


def test_short_or_missing_password_is_refused(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "short")
    code, out = _add(db_url, capsys, "qian", "--role", "viewer")
    assert code == 2 and "at least 8 characters" in out
    monkeypatch.delenv(PASSWORD_ENV)
    code, out = _add(db_url, capsys, "qian", "--role", "viewer")
    assert code == 2 and PASSWORD_ENV in out and "Traceback" not in out
    assert _user(db_url, "qian") is None


def test_list_shows_role_scope_and_state(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(db_url, capsys, "admin", "--role", "admin")[0] == 0
    assert _add(db_url, capsys, "sun", "--role", "analyst", "--counties", "C003")[0] == 0
    assert _add(db_url, capsys, "zhou", "--role", "viewer", "--outlets", "O00007")[0] == 0
    assert _users(["disable", "zhou"], db_url, capsys)[0] == 0
    code, out = _users(["list"], db_url, capsys)
    assert code == 0
    lines = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.strip()}
    assert lines == {
        "admin": ["admin", "all"],
        "sun": ["analyst", "counties=C003"],
        "zhou": ["viewer", "outlets=O00007", "(disabled)"],
    }


def _sessions(url: str, name: str) -> int:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as db:
            user = db.scalar(select(User).where(User.username == name))
            assert user is not None
            return int(db.scalar(select(func.count()).where(LoginSession.user_id == user.id)) or 0)
    finally:
        engine.dispose()


def _log_in(url: str, name: str) -> None:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as db:
            user = db.scalar(select(User).where(User.username == name))
            assert user is not None
            start_session(db, user, hours=8)
    finally:
        engine.dispose()


def test_disable_ends_the_users_sessions(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _add(db_url, capsys, "wu", "--role", "analyst")[0] == 0
    assert _add(db_url, capsys, "zheng", "--role", "analyst")[0] == 0
    for name in ("wu", "wu", "zheng"):
        _log_in(db_url, name)
    assert _sessions(db_url, "wu") == 2
    code, out = _users(["disable", "wu"], db_url, capsys)
    assert code == 0 and "disabled wu" in out
    assert _sessions(db_url, "wu") == 0
    assert _sessions(db_url, "zheng") == 1  # others stay logged in
    user = _user(db_url, "wu")
    assert user is not None and not user.active


def test_disable_or_reset_an_unknown_user_fails_clearly(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["disable", "ghost"], ["password", "ghost", "--password-env", PASSWORD_ENV]):
        code, out = _users(args, db_url, capsys)
        assert code == 2 and "no user 'ghost'" in out and "Traceback" not in out


def test_password_sets_a_new_hash_and_ends_sessions(
    db_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _add(db_url, capsys, "feng", "--role", "viewer")[0] == 0
    _log_in(db_url, "feng")
    monkeypatch.setenv(PASSWORD_ENV, "another-long-one")
    code, out = _users(["password", "feng", "--password-env", PASSWORD_ENV], db_url, capsys)
    assert code == 0 and "password set for feng" in out
    user = _user(db_url, "feng")
    assert user is not None
    assert PasswordHasher().verify(user.password_hash, "another-long-one")
    assert _sessions(db_url, "feng") == 0


def test_serve_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["serve", "--help"], capsys)
    assert code == 0
    assert "Example" in out and "youshu users add admin --role admin" in out
    for option in ("--run", "--port", "--workers", "--database-url", "--secure-cookies"):
        assert option in out


def test_users_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["users", "--help"], capsys)
    assert code == 0
    for command in ("add", "list", "disable", "password"):
        assert command in out


def test_serve_without_a_run_says_what_to_do(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run_cli(["serve", "--database-url", f"sqlite:///{project / 'app.db'}"], capsys)
    assert code == 2
    assert "no finished run" in out and "youshu run" in out and "Traceback" not in out
