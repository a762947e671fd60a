"""The audit log: who viewed, exported or unmasked what, and when. Details never hold raw personal data."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from youshu.app.db import AuditEvent, utcnow


def record(
    db: Session,
    *,
    username: str,
    role: str,
    action: str,
    resource: str,
    ip: str = "",
    **detail: Any,
) -> AuditEvent:
    """Write one audit event (committed) and return it."""
    event = AuditEvent(
        at=utcnow(),
        username=username[:64],
        role=role[:32],
        action=action[:32],
        resource=resource[:512],
        detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True) if detail else "",
        ip=ip[:64],
    )
    db.add(event)
    db.commit()
    return event
