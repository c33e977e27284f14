"""The figures a reconciliation compares: one side's usage of one model on one channel and vendor day.

Token classes are the vendor's (``VendorUsage``): ``input`` is *uncached* input, ``output`` includes
reasoning. Our canonical counts map to them as ``input = prompt − cache_read − cache_write −
cache_write_1h`` and ``output = completion``. ``cost`` is in ``currency`` at full precision (ours: the rated
cost in the channel's contract currency; theirs: what the vendor charged, None when its export has no
cost).
"""

from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

TOKEN_CLASSES = ("input", "cache_read", "cache_write", "cache_write_1h", "output")


@dataclass(frozen=True, slots=True)
class Figures:
    requests: int = 0
    input: int = 0
    cache_read: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    output: int = 0
    cost: Decimal | None = None
    currency: str = ""
    # False when the vendor's format has no cache counts (OpenRouter): its input holds every input token.
    has_cache_counts: bool = True

    @property
    def total_input(self) -> int:
        return self.input + self.cache_read + self.cache_write + self.cache_write_1h

    @property
    def tokens(self) -> int:
        return self.total_input + self.output

    def __add__(self, other: "Figures") -> "Figures":
        if self.cost is None or other.cost is None:
            cost = self.cost if other.cost is None else other.cost
        else:
            cost = self.cost + other.cost
        counts = {f: getattr(self, f) + getattr(other, f) for f in ("requests", *TOKEN_CLASSES)}
        return Figures(
            **counts,
            cost=cost,
            currency=self.currency or other.currency,
            has_cache_counts=self.has_cache_counts and other.has_cache_counts,
        )

    def with_cost(self, cost: Decimal | None, currency: str) -> "Figures":
        return replace(self, cost=cost, currency=currency)

    def as_json(self) -> dict:
        """For ``ReconciliationLine.ours``/``theirs``: counts as numbers, cost as a decimal string."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("cost", "currency")}
        data["cost"] = None if self.cost is None else decimal_text(self.cost)
        data["currency"] = self.currency
        return data


def decimal_text(value: Decimal) -> str:
    """``value`` as plain decimal text without trailing zeros (2.65, 10, 0.075): never 1E+1."""
    return f"{value.normalize():f}"


def day_window(day: date, zone: str) -> tuple[datetime, datetime]:
    """The vendor day ``[day 00:00, next day 00:00)`` in ``zone`` (aware datetimes; 23 or 25 hours long
    across a daylight-saving change)."""
    tz = ZoneInfo(zone)
    return (
        datetime.combine(day, time(0), tzinfo=tz),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz),
    )


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
