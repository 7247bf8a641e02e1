"""Per-list quality of a case: the figures behind ``undercount audit``.

Keys per list (all counts of records unless said otherwise):

rows, invalid_ids (ID given but not valid), check_digit_failures (9 digits as given, wrong
check digit), wrong_length_ids, missing_ids, missing_name, missing_age, missing_sex,
missing_dob, missing_event_date, duplicate_ids (distinct IDs held by more than one record),
duplicate_id_records, duplicate_rows (exact copies of an earlier row), age_range,
age_dob_mismatch, date_range, event_outside_period, age_heaping (share of ages >= 20 that are
multiples of 5; about 0.2 without heaping) and whipple (Whipple's index on ages 23-62: 100 = no
heaping, 500 = every age ends in 0 or 5; null with fewer than 50 such ages).
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from undercount.store import Case

__all__ = ["AuditResult", "audit_case", "AUDIT_KEYS"]

AUDIT_KEYS = (
    "rows", "invalid_ids", "check_digit_failures", "wrong_length_ids", "missing_ids", "missing_name",
    "missing_age", "missing_sex", "missing_dob", "missing_event_date", "duplicate_ids",
    "duplicate_id_records", "duplicate_rows", "age_range", "age_dob_mismatch", "date_range",
    "event_outside_period", "age_heaping", "whipple",
)
_WHIPPLE_MIN = 50

_SQL = """
WITH r AS (SELECT * FROM uc_records WHERE source IN (SELECT name FROM uc_sources)),
ids AS (
    SELECT source, count(*) FILTER (WHERE n > 1) AS duplicate_ids
    FROM (SELECT source, id_number, count(*) AS n FROM r WHERE id_number IS NOT NULL GROUP BY ALL)
    GROUP BY source
)
SELECT r.source,
    count(*) AS rows,
    count(*) FILTER (WHERE id_valid = false) AS invalid_ids,
    count(*) FILTER (WHERE id_valid = false AND id_number IS NOT NULL
                     AND NOT list_contains(flags, 'id_length')) AS check_digit_failures,
    count(*) FILTER (WHERE list_contains(flags, 'id_length')) AS wrong_length_ids,
    count(*) FILTER (WHERE id_number IS NULL AND id_valid IS NULL) AS missing_ids,
    count(*) FILTER (WHERE full_name IS NULL) AS missing_name,
    count(*) FILTER (WHERE age IS NULL) AS missing_age,
    count(*) FILTER (WHERE sex IS NULL) AS missing_sex,
    count(*) FILTER (WHERE date_of_birth IS NULL) AS missing_dob,
    count(*) FILTER (WHERE event_date IS NULL) AS missing_event_date,
    coalesce(any_value(ids.duplicate_ids), 0) AS duplicate_ids,
    count(*) FILTER (WHERE list_contains(flags, 'duplicate_id')) AS duplicate_id_records,
    count(*) FILTER (WHERE list_contains(flags, 'duplicate_row')) AS duplicate_rows,
    count(*) FILTER (WHERE list_contains(flags, 'age_range')) AS age_range,
    count(*) FILTER (WHERE list_contains(flags, 'age_dob_mismatch')) AS age_dob_mismatch,
    count(*) FILTER (WHERE list_contains(flags, 'date_range')) AS date_range,
    count(*) FILTER (WHERE list_contains(flags, 'event_outside_period')) AS event_outside_period,
    count(*) FILTER (WHERE age >= 20) AS adults,
    count(*) FILTER (WHERE age >= 20 AND age % 5 = 0) AS adults_on_5,
    count(*) FILTER (WHERE age BETWEEN 23 AND 62) AS whipple_n,
    count(*) FILTER (WHERE age BETWEEN 23 AND 62 AND age % 5 = 0) AS whipple_on_5
FROM r LEFT JOIN ids USING (source)
GROUP BY r.source
"""


@dataclass(frozen=True)
class AuditResult:
    """Quality figures per list, in import order.

    Attributes:
        lists: list name -> {key: value} (see the module docstring for the keys).
    """

    lists: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """``{"lists": {NAME: {...}}}``, the shape ``undercount audit --json`` prints."""
        return {"lists": {name: dict(values) for name, values in self.lists.items()}}


def _figures(row: dict[Hashable, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: int(row[k]) for k in AUDIT_KEYS if k not in ("age_heaping", "whipple")}
    adults = int(row["adults"])
    out["age_heaping"] = round(int(row["adults_on_5"]) / adults, 4) if adults else None
    n = int(row["whipple_n"])
    out["whipple"] = round(500.0 * int(row["whipple_on_5"]) / n, 1) if n >= _WHIPPLE_MIN else None
    return out


def audit_case(case: Case) -> AuditResult:
    """Count, per list, missing and invalid values, duplicates and age heaping.

    Args:
        case: an open case.
    Returns:
        An :class:`AuditResult` (lists in import order; a case without lists gives none).
    Raises:
        StoreError: the case cannot be read.

    Example:
        >>> audit_case(case).to_dict()["lists"]["moh"]["invalid_ids"]  # doctest: +SKIP
        255
    """
    order = case.query("SELECT name FROM uc_sources ORDER BY imported_at, name")["name"].tolist()
    stats = case.query(_SQL)
    by_name = {str(r["source"]): _figures(r) for r in stats.to_dict(orient="records")}
    return AuditResult({name: by_name[name] for name in order if name in by_name})
