"""Rate canonical events twice — at the sell price in force and at contract cost — on plain data.

No queries here: keys, models, customers and prices were loaded once for the batch (``resolve`` and
``pricing``); this module only computes. Events that cannot be rated keep a reason and are stored
*unrated* (DESIGN §4.8); failed requests are stored *not charged*.
"""

from dataclasses import dataclass
from decimal import Decimal

from billing.usage.events import CanonicalEvent
from billing.usage.models import RatingState
from billing.usage.pricing import BatchPricer, Unpriced
from catalog.models import AIModel
from catalog.rating import RatingError, rate


@dataclass(slots=True)
class Rated:
    """The rating outcome of one event (amounts exact, in their currencies)."""

    customer_id: int | None
    model_id: int | None
    state: str
    reason: str = ""
    plan: str = ""
    sell_amount: Decimal | None = None
    sell_currency: str = ""
    cost_amount: Decimal | None = None
    cost_currency: str = ""


def event_rate(
    event: CanonicalEvent,
    *,
    customer_id: int | None,
    model: AIModel | None,
    pricer: BatchPricer | None,
) -> Rated:
    """Return how ``event`` is charged; never raises for a business reason."""
    model_id = model.pk if model is not None else None
    if customer_id is None:
        return Rated(None, model_id, RatingState.UNRATED, f"unknown_key: no customer has key {event.key!r}")
    if model is None:
        return Rated(
            customer_id,
            None,
            RatingState.UNRATED,
            f"unknown_model: {event.model!r} is not a known model or alias",
        )
    if not event.succeeded:
        return Rated(customer_id, model_id, RatingState.NOT_CHARGED)
    try:
        prices = pricer.prices(customer_id, model_id, event.occurred_at)
        usage = event.usage()
        sell = rate(prices.sell, usage)
        cost = rate(prices.cost, usage) if prices.cost is not None else None
    except Unpriced as exc:
        return Rated(customer_id, model_id, RatingState.UNRATED, f"{exc.code}: {exc.reason}")
    except RatingError as exc:
        return Rated(customer_id, model_id, RatingState.UNRATED, f"not_rateable: {exc.field}: {exc.message}")
    return Rated(
        customer_id,
        model_id,
        RatingState.RATED,
        plan=prices.plan,
        sell_amount=sell.total,
        sell_currency=sell.currency,
        cost_amount=cost.total if cost is not None else None,
        cost_currency=cost.currency if cost is not None else "",
    )
