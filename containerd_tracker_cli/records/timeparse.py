"""Times as Go and containerd print them, to aware ``datetime``s."""
from __future__ import annotations

import re
import reprlib
from datetime import datetime, timedelta, timezone
from typing import Any

_RFC3339 = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?(?:\s+[A-Z]{2,5})?$"
)


def parse_go_time(value: Any) -> datetime | None:
    """Parse RFC 3339 (nanoseconds allowed), Go's ``time.String()`` form
    (``2026-11-24 20:12:50.07259286 +0000 UTC``), or a protobuf Timestamp
    ``{"seconds": …, "nanos": …}``. Go's zero time and empty values give None;
    anything else raises ``ValueError``.
    """
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        try:
            seconds = int(value.get("seconds", 0))
            nanos = int(value.get("nanos", 0))
            if seconds <= 0 and nanos == 0:
                return None
            return datetime.fromtimestamp(seconds, tz=timezone.utc) + timedelta(microseconds=nanos // 1000)
        except (TypeError, ValueError, OverflowError, OSError) as exc:
            # null, text, inf or a year past 9999: int() and the platform's time_t say so each their own way.
            raise ValueError(f"not a time: {reprlib.repr(value)}") from exc
    if not isinstance(value, str):
        raise ValueError(f"not a time: {reprlib.repr(value)}")
    match = _RFC3339.match(value.strip())
    if not match:
        raise ValueError(f"not a time: {value!r}")
    if match["date"].startswith("0001-01-01"):
        return None
    frac = (match["frac"] or "")[:6].ljust(6, "0")
    tz = match["tz"] or "Z"
    if tz == "Z":
        offset = timezone.utc
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    naive = datetime.fromisoformat(f"{match['date']}T{match['time']}.{frac}")
    return naive.replace(tzinfo=offset)


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds, the form this project stores in labels."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
