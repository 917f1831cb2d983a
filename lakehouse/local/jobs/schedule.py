"""Quartz cron schedules of the bundle jobs: when they fire, so a backfill runs what production would.

Databricks schedules are Quartz expressions (seconds first, `?` for "no specific value", day-of-week
1 = Sunday). croniter evaluates them once the day-of-week numbers are shifted to its 0 = Sunday.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from lakehouse.core.errors import ConfigError
from lakehouse.local.jobs.spec import Schedule

_NUMBER = re.compile(r"\d+")


def _croniter_expression(quartz: str) -> str:
    fields = quartz.split()
    if len(fields) not in (6, 7):
        raise ConfigError(f"cron {quartz!r}: a Quartz expression has 6 or 7 fields (seconds first)")
    if "?" not in (fields[3], fields[5]):
        raise ConfigError(f"cron {quartz!r}: Quartz needs '?' in day-of-month or day-of-week")
    fields[5] = _NUMBER.sub(lambda m: str(int(m.group()) - 1) if 1 <= int(m.group()) <= 7 else "x", fields[5])
    return " ".join("*" if f == "?" else f for f in fields)


def validate_cron(quartz: str, timezone: str = "UTC") -> None:
    """Refuse an expression or time zone Databricks would refuse."""
    expression = _croniter_expression(quartz)
    if not croniter.is_valid(expression, second_at_beginning=True):
        raise ConfigError(f"cron {quartz!r} is not a valid Quartz expression")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"time zone {timezone!r} is unknown") from None


def fire_times(schedule: Schedule, first: date, last: date) -> list[datetime]:
    """Every time the schedule fires on the days first..last (in the schedule's time zone)."""
    validate_cron(schedule.quartz_cron, schedule.timezone)
    zone = ZoneInfo(schedule.timezone)
    start = datetime.combine(first, time.min, zone) - timedelta(seconds=1)
    end = datetime.combine(last + timedelta(days=1), time.min, zone)
    times = croniter(_croniter_expression(schedule.quartz_cron), start, second_at_beginning=True)
    fired = []
    while (moment := times.get_next(datetime)) < end:
        fired.append(moment)
    return fired
