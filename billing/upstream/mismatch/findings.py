"""What a signal finds: one flag's key and figures, before it is stored as a ``MismatchFlag``."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from catalog.models import AIModel, Channel
from common.days import local_midnight


@dataclass
class Finding:
    """One channel × model × day on which ``signal`` holds, with the evidence that shows it.

    ``evidence`` is JSON (numbers as decimal strings, so it stores exactly); ``score`` is the signal's
    strength: the share of responses reporting another model, the largest |z| of a shift, or the relative
    gap between the vendor's cost and the named model's price."""

    channel: Channel
    model: AIModel | None
    model_name: str
    day: date
    signal: str
    score: Decimal
    detail: str
    evidence: dict = field(default_factory=dict)
    # ``detail`` as stored text (common.stored_text), for ``MismatchFlag.detail_message``.
    detail_message: dict | None = None

    @property
    def key(self) -> tuple[int, str, date, str]:
        return (self.channel.pk, self.model_name, self.day, self.signal)


def day_window(day: date) -> tuple[datetime, datetime]:
    """The instants the operator's day ``day`` covers, [start, end): events are filtered on occurred_at
    with these bounds, so PostgreSQL reads only the partitions of that day."""
    return local_midnight(day), local_midnight(day + timedelta(days=1))


def decimal_text(value: Decimal, places: int = 4) -> str:
    """``value`` rounded for evidence: a stable string, so an equal re-scan stores an equal document."""
    return str(value.quantize(Decimal(1).scaleb(-places)))
