"""KPI periods (考核期): a year, half-year, quarter or month written as ``2025``, ``2025H1``, ``2025Q3``, ``2025-09``."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from youshu.errors import YoushuError

__all__ = ["Period", "month_end", "months_back"]

_PATTERNS = (
    (re.compile(r"^(\d{4})$"), "year"),
    (re.compile(r"^(\d{4})-?[Hh]([12])$"), "half"),
    (re.compile(r"^(\d{4})-?[Qq]([1-4])$"), "quarter"),
    (re.compile(r"^(\d{4})-(\d{1,2})$"), "month"),
)


def month_end(year: int, month: int) -> date:
    """The last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


def months_back(day: date, n: int) -> list[tuple[int, int]]:
    """The ``n`` calendar months ending with ``day``'s month, oldest first, as (year, month)."""
    index = day.year * 12 + day.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - n + 1, index + 1)]


@dataclass(frozen=True)
class Period:
    """A KPI period from ``start`` to ``end`` (both inclusive) and how it was written."""

    start: date
    end: date
    label: str

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read ``2025``, ``2025H1``, ``2025Q3`` (also ``2025-Q3``) or ``2025-09``.

        Raises
        ------
        YoushuError
            For anything else, with examples of what is accepted.

        Examples
        --------
        >>> Period.parse("2025Q3")
        Period(start=datetime.date(2025, 7, 1), end=datetime.date(2025, 9, 30), label='2025Q3')
        """
        value = text.strip()
        for pattern, kind in _PATTERNS:
            if match := pattern.match(value):
                year = int(match.group(1))
                if kind == "year":
                    return cls(date(year, 1, 1), date(year, 12, 31), f"{year}")
                part = int(match.group(2))
                first, length, label = {
                    "half": ((part - 1) * 6 + 1, 6, f"{year}H{part}"),
                    "quarter": ((part - 1) * 3 + 1, 3, f"{year}Q{part}"),
                    "month": (part, 1, f"{year}-{part:02d}"),
                }[kind]
                if not 1 <= first <= 12:
                    break
                return cls(date(year, first, 1), month_end(year, first + length - 1), label)
        raise YoushuError(
            f"cannot read the period {text!r}; write a year, half-year, quarter or month, "
            "e.g. 2025, 2025H1, 2025Q3 or 2025-09"
        )

    def elapsed(self, as_of: date) -> float:
        """Share of the period's days up to ``as_of`` (0 before it starts, 1 once it is over)."""
        total = (self.end - self.start).days + 1
        done = (min(as_of, self.end) - self.start).days + 1
        return min(max(done / total, 0.0), 1.0)
