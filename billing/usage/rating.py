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
from catalog.rating import RatingError, rate, rate_total


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


# Plain strings (not the enum members) so the bulk path can format them straight into COPY text.
_RATED, _UNRATED, _NOT_CHARGED = (
    RatingState.RATED.value,
    RatingState.UNRATED.value,
    RatingState.NOT_CHARGED.value,
)


def row_rate(
    *,
    key: str,
    model_name: str,
    customer_id: int | None,
    model: AIModel | None,
    pricer: BatchPricer | None,
    at,
    counts: tuple[int, int, int, int, int, int],
    batch: bool,
    succeeded: bool,
) -> tuple:
    """``event_rate`` for the bulk path, on plain values, returning a plain tuple.

    ``(customer_id, model_id, state, reason, plan, sell_amount, sell_currency, cost_amount, cost_currency)``
    — the same outcome, reasons and amounts as ``event_rate`` (tests/billing/usage/test_bulk.py compares
    the stored rows of both paths), but only the totals are computed (``catalog.rating.rate_total``):
    per-class amounts are not stored per event.
    """
    model_id = model.pk if model is not None else None
    if customer_id is None:
        return (
            None,
            model_id,
            _UNRATED,
            f"unknown_key: no customer has key {key!r}",
            "",
            None,
            "",
            None,
            "",
        )
    if model is None:
        reason = f"unknown_model: {model_name!r} is not a known model or alias"
        return (customer_id, None, _UNRATED, reason, "", None, "", None, "")
    if not succeeded:
        return (customer_id, model_id, _NOT_CHARGED, "", "", None, "", None, "")
    try:
        prices = pricer.prices(customer_id, model_id, at)
        sell = rate_total(prices.sell, *counts, batch, at)
        cost = rate_total(prices.cost, *counts, batch, at) if prices.cost is not None else None
    except Unpriced as exc:
        return (
            customer_id,
            model_id,
            _UNRATED,
            f"{exc.code}: {exc.reason}",
            "",
            None,
            "",
            None,
            "",
        )
    except RatingError as exc:
        reason = f"not_rateable: {exc.field}: {exc.message}"
        return (customer_id, model_id, _UNRATED, reason, "", None, "", None, "")
    return (
        customer_id,
        model_id,
        _RATED,
        "",
        prices.plan,
        sell,
        prices.sell.currency,
        cost,
        prices.cost.currency if cost is not None else "",
    )
