"""Expectation rule sets of the silver datasets, as data: {rule name: SQL boolean} per action.

The DLT pipeline applies them with `@dlt.expect_all` (warn), `@dlt.expect_all_or_drop` (drop) and
`@dlt.expect_all_or_fail` (fail), and its quarantine tables keep the rows that break a drop rule
together with the rule names. `fail` is kept for conditions where going on would corrupt
downstream data (e.g. amounts in another currency would silently distort every spend feature).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lakehouse.core.source_contract import DOMAINS


def _known(column: str, source: str) -> str:
    values = ", ".join(f"'{v}'" for v in DOMAINS[source][column])
    return f"{column} IN ({values})"


def _present(column: str) -> str:
    return f"{column} IS NOT NULL AND trim({column}) <> ''"


@dataclass(frozen=True)
class RuleSet:
    """The expectations of one dataset, by action."""

    warn: dict[str, str] = field(default_factory=dict)
    drop: dict[str, str] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)

    @property
    def all(self) -> dict[str, str]:
        return {**self.warn, **self.drop, **self.fail}


NO_RESCUED_DATA = "_rescued_data IS NULL"

CUSTOMERS = RuleSet(
    warn={
        "plan_known": _known("plan", "customers"),
        "region_known": _known("region", "customers"),
        "no_unexpected_columns": NO_RESCUED_DATA,
    },
    drop={
        "customer_id_present": _present("customer_id"),
        "signup_date_present": "signup_date IS NOT NULL",
        "updated_at_present": "updated_at IS NOT NULL",
        "monthly_fee_valid": "monthly_fee IS NOT NULL AND monthly_fee >= 0",
    },
    fail={"status_known": "coalesce(status, 'active') IN ('active', 'churned')"},
)

TRANSACTIONS = RuleSet(
    warn={
        "category_known": _known("category", "transactions"),
        "channel_known": _known("channel", "transactions"),
        "payment_method_known": _known("payment_method", "transactions"),
        "no_unexpected_columns": NO_RESCUED_DATA,
    },
    drop={
        "transaction_id_present": _present("transaction_id"),
        "customer_id_present": _present("customer_id"),
        "event_time_present": "event_time IS NOT NULL",
        "amount_positive": "amount IS NOT NULL AND amount > 0",
    },
    fail={"currency_is_eur": "coalesce(currency, 'EUR') = 'EUR'"},
)

SUPPORT = RuleSet(
    warn={
        "topic_known": _known("topic", "support"),
        "channel_known": _known("channel", "support"),
        "satisfaction_in_range": "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
        "no_unexpected_columns": NO_RESCUED_DATA,
    },
    drop={
        "interaction_id_present": _present("interaction_id"),
        "customer_id_present": _present("customer_id"),
        "event_time_present": "event_time IS NOT NULL",
    },
)

CHURN = RuleSet(
    warn={"reason_known": _known("reason", "churn")},
    drop={"customer_id_present": _present("customer_id"), "churn_date_present": "churn_date IS NOT NULL"},
)

RULES: dict[str, RuleSet] = {"customers": CUSTOMERS, "transactions": TRANSACTIONS, "support": SUPPORT, "churn": CHURN}
