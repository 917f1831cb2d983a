"""What world to generate: one frozen value, validated once, recorded in every manifest."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

MAX_CUSTOMERS = 1_000_000  # customer ids have 7 digits; this leaves room for decades of signups
MAX_DAILY_TRANSACTIONS = 50_000_000  # event ids have an 8-digit sequence per day


@dataclass(frozen=True)
class GeneratorConfig:
    """Parameters of the simulated subscription business and of its delivery defects.

    world_start is the day of the first drop, which holds the initial customer snapshot.
    file_defect_rate is the chance, per day, that the transactions file gains a column and
    (independently) that the support file loses one; like all defects it applies only when
    defect_rate > 0. incident_day is the day whose transactions drop breaks the pipelines' fail rule
    (lakehouse.local.datagen.incident); None: no incident.
    """

    seed: int = 42
    customers: int = 10_000
    world_start: date = date(2026, 1, 1)
    transactions_per_customer_day: float = 10.0
    defect_rate: float = 0.0
    file_defect_rate: float = 0.1
    drift_start: date | None = None
    incident_day: date | None = None
    late_fraction: float = 0.02
    duplicate_fraction: float = 0.01

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if isinstance(self.customers, bool) or not isinstance(self.customers, int):
            raise ValueError(f"customers must be an integer, got {self.customers!r}")
        if not 1 <= self.customers <= MAX_CUSTOMERS:
            raise ValueError(f"customers must be between 1 and {MAX_CUSTOMERS}, got {self.customers}")
        _require_day("world_start", self.world_start)
        if self.drift_start is not None:
            _require_day("drift_start", self.drift_start)
            if self.drift_start < self.world_start:
                raise ValueError(f"drift_start {self.drift_start} is before world_start {self.world_start}")
        if self.incident_day is not None:
            _require_day("incident_day", self.incident_day)
            if self.incident_day < self.world_start:
                raise ValueError(f"incident_day {self.incident_day} is before world_start {self.world_start}")
        tpcd = self.transactions_per_customer_day
        if isinstance(tpcd, bool) or not isinstance(tpcd, (int, float)) or not 0 < tpcd <= 1000:
            raise ValueError(f"transactions_per_customer_day must be in (0, 1000], got {tpcd!r}")
        if self.customers * tpcd > MAX_DAILY_TRANSACTIONS:
            raise ValueError(
                f"customers x transactions_per_customer_day must be at most {MAX_DAILY_TRANSACTIONS:,}, "
                f"got {self.customers * tpcd:,.0f}"
            )
        for name in ("defect_rate", "late_fraction", "duplicate_fraction"):
            _require_fraction(name, getattr(self, name), 0.5)
        _require_fraction("file_defect_rate", self.file_defect_rate, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (dates as ISO strings), as recorded in the manifests."""
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items()}


def _require_day(name: str, value: object) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime.date, got {value!r}")


def _require_fraction(name: str, value: object, upper: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= upper:
        raise ValueError(f"{name} must be a number between 0 and {upper}, got {value!r}")
