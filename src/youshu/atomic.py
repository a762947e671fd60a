"""Atomic outputs: write into a temporary sibling, then move into place, so a failure leaves nothing half-written."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish_mode(path: Path, base: int) -> None:
    # mkdtemp/mkstemp create private (0700/0600) entries; give the result the mode a plain mkdir/open would.
    os.chmod(path, base & ~_umask())


@contextlib.contextmanager
def atomic_dir(dest: Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary directory that becomes ``dest`` only if the block finishes without error.

    The temporary directory is a sibling of ``dest`` (same filesystem, so the final rename is atomic).
    On error it is removed and ``dest`` is untouched. With ``replace`` an existing ``dest`` is swapped
    out after the new one is complete; otherwise an existing ``dest`` raises ``FileExistsError`` up front.

    Examples
    --------
    >>> with atomic_dir(Path("out/province")) as tmp:  # doctest: +SKIP
    ...     (tmp / "customers").mkdir()
    """
    dest = Path(dest)
    if dest.exists() and not replace:
        raise FileExistsError(f"{dest} already exists")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _publish_mode(tmp, 0o777)
    old: Path | None = None
    if dest.exists():
        old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
        if old.exists():
            shutil.rmtree(old)
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_file(dest: Path) -> Iterator[Path]:
    """Yield a temporary file path that replaces ``dest`` only if the block finishes without error."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.tmp-", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _publish_mode(tmp, 0o666)
    os.replace(tmp, dest)
