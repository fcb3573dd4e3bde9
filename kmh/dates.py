"""Publication dates as people give them: a year ("2019"), a month ("2019-09") or a day ("2019-09-12").

The catalog keeps the first day of that period (for sorting and the year filter) and the precision beside it,
so that "2019-09" is shown and returned as September 2019, not as 1 September 2019.
"""

from __future__ import annotations

import re
from datetime import date

PRECISIONS = ("year", "month", "day")
_PARTIAL = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def parse_partial_date(text: str) -> tuple[date, str]:
    """"2019-09" -> (date(2019, 9, 1), "month"). Raises ValueError for anything but YYYY, YYYY-MM or YYYY-MM-DD
    (or an impossible date), saying which: "not a date (...)" or "not a valid date"."""
    match = _PARTIAL.fullmatch(text.strip())
    if not match:
        raise ValueError("not a date (YYYY, YYYY-MM or YYYY-MM-DD)")
    year, month, day = match.groups()
    precision = "day" if day else "month" if month else "year"
    try:
        return date(int(year), int(month or 1), int(day or 1)), precision
    except ValueError:
        raise ValueError("not a valid date") from None


def partial_date_text(value: date | None, precision: str | None) -> str | None:
    """(date(2019, 9, 1), "month") -> "2019-09"; a missing precision means the day."""
    if value is None:
        return None
    if precision == "year":
        return f"{value.year:04d}"
    if precision == "month":
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def clock(seconds: float | None) -> str:
    """00:12:34 (hours always shown: seminar sessions last hours); None reads as 0."""
    s = int(seconds or 0)
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
