"""Masking of personal data (JR/T 0171): names, ID-card and phone numbers never leave unmasked by default."""

from __future__ import annotations

from typing import Any

from youshu.schema.spec import Pii


def mask_name(value: str) -> str:
    """Keep the first character: 张三丰 -> 张**."""
    if not value:
        return value
    return value[0] + "*" * max(len(value) - 1, 1)


def mask_id_card(value: str) -> str:
    """Keep the first 4 and last 4 characters: 4201**********1234."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits: 138****5678."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


_MASKERS = {Pii.NAME: mask_name, Pii.ID_CARD: mask_id_card, Pii.PHONE: mask_phone}


def mask_value(value: Any, kind: Pii | None) -> Any:
    """Mask ``value`` according to its personal-data kind; non-strings and non-PII pass through."""
    if kind is None or value is None:
        return value
    return _MASKERS[kind](str(value))
