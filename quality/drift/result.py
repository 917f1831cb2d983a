"""What a monthly drift run found, and the retraining signal orchestration acts on.

`retrain_recommended` is True when the share of drifted feature columns reaches `drift_share` (Evidently's
dataset drift), when the model's scores drifted, or when the model's performance on matured labels fell
below the promotion gate's minimums; `retrain_reasons` says which. Columns that drifted below the share
are listed (and in `warnings`), but do not raise the signal on their own.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from quality.drift.report import ColumnDrift


@dataclass
class DriftResult:
    run_id: str
    month: date  # first day of the compared month
    env: str
    started_at: datetime
    current: dict[str, Any]  # window, rows, days present, missing days
    reference: dict[str, Any]
    sampling: dict[str, Any]
    columns: list[ColumnDrift]  # features, then the prediction score when there were predictions
    drifted_count: int  # feature columns, as Evidently's DriftedColumnsCount reports them (+ missing in current)
    drifted_share: float
    drift_share_threshold: float
    performance: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    retrain_reasons: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    evidently_version: str = ""
    duration_s: float = 0.0
    published: list[str] = field(default_factory=list)

    @property
    def dataset_drift(self) -> bool:
        return self.drifted_share >= self.drift_share_threshold

    @property
    def retrain_recommended(self) -> bool:
        return bool(self.retrain_reasons)

    @property
    def number_of_columns(self) -> int:
        """Feature columns compared, plus those that vanished from the month (counted as drifted)."""
        return sum(c.kind == "feature" and c.status in ("evaluated", "missing_in_current") for c in self.columns)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drifted and c.kind == "feature"]

    @property
    def prediction(self) -> ColumnDrift | None:
        return next((c for c in self.columns if c.kind == "prediction"), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "month": f"{self.month:%Y-%m}",
            "env": self.env,
            "started_at": self.started_at.isoformat(),
            "duration_s": round(self.duration_s, 3),
            "dataset_drift": self.dataset_drift,
            "drifted_share": self.drifted_share,
            "drift_share_threshold": self.drift_share_threshold,
            "number_of_columns": self.number_of_columns,
            "number_of_drifted_columns": self.drifted_count,
            "drifted_columns": self.drifted_columns,
            "retrain_recommended": self.retrain_recommended,
            "retrain_reasons": self.retrain_reasons,
            "warnings": self.warnings,
            "current": self.current,
            "reference": self.reference,
            "sampling": self.sampling,
            "columns": [asdict(c) for c in self.columns if c.kind == "feature"],
            "prediction_drift": asdict(self.prediction) if self.prediction else None,
            "performance": self.performance,
            "settings": self.settings,
            "evidently_version": self.evidently_version,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str, allow_nan=False)
