"""Rate a usage event twice — at the sell price in force and at contract cost — on plain data.

The one rating function of every path (per batch, re-rating, bulk). No queries here: keys, models,
customers and prices were loaded once for the batch (``resolve`` and ``pricing``); this module only
computes. Events that cannot be rated keep a reason and are stored *unrated* (DESIGN §4.8); failed
requests are stored *not charged*.
"""

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from billing.usage.models import RatingState
from billing.usage.pricing import BatchPricer, Unpriced
from catalog.models import AIModel
from catalog.rating import RatingError, rate_total

# Plain strings (not the enum members): the bulk path formats them straight into COPY text.
RATED, UNRATED, NOT_CHARGED = (
    RatingState.RATED.value,
    RatingState.UNRATED.value,
    RatingState.NOT_CHARGED.value,
)
# The length of UsageEvent.unrated_reason.
MAX_REASON = 300


class Rated(NamedTuple):
    """How one event is charged (amounts exact, in their currencies). A tuple: the bulk path builds one
    per event and unpacks it."""

    customer_id: int | None
    model_id: int | None
    state: str
    reason: str = ""
    plan: str = ""
    sell_amount: Decimal | None = None
    sell_currency: str = ""
    cost_amount: Decimal | None = None
    cost_currency: str = ""


def unrated(customer_id: int | None, model_id: int | None, code: str, detail: str) -> Rated:
    """An event that cannot be rated, with its reason as stored: ``"<code>: <detail>"`` (the codes are
    ``selectors.UNRATED_REASONS``), cut to the column's length."""
    return Rated(customer_id, model_id, UNRATED, f"{code}: {detail}"[:MAX_REASON])


def event_rate(
    *,
    key: str,
    model_name: str,
    customer_id: int | None,
    model: AIModel | None,
    pricer: BatchPricer | None,
    at: datetime,
    counts: tuple[int, int, int, int, int, int],
    batch: bool,
    succeeded: bool,
) -> Rated:
    """Return how an event is charged; never raises for a business reason.

    ``key`` and ``model_name`` are as the gateway sent them (for the reasons), ``customer_id`` and
    ``model`` what they resolved to (None: unknown), ``counts`` the six token counts in
    ``TOKEN_COLUMNS`` order. Only totals are computed (``catalog.rating.rate_total``, equal to
    ``rate()``'s): per-class amounts are not stored per event.
    """
    model_id = model.pk if model is not None else None
    if customer_id is None:
        return unrated(None, model_id, "unknown_key", f"no customer has key {key!r}")
    if model is None:
        return unrated(customer_id, None, "unknown_model", f"{model_name!r} is not a known model or alias")
    if not succeeded:
        return Rated(customer_id, model_id, NOT_CHARGED)
    try:
        prices = pricer.prices(customer_id, model_id, at)
        sell = rate_total(prices.sell, *counts, batch, at)
        cost = rate_total(prices.cost, *counts, batch, at) if prices.cost is not None else None
    except Unpriced as exc:
        return unrated(customer_id, model_id, exc.code, exc.reason)
    except RatingError as exc:
        return unrated(customer_id, model_id, "not_rateable", f"{exc.field}: {exc.message}")
    return Rated(
        customer_id,
        model_id,
        RATED,
        "",
        prices.plan,
        sell,
        prices.sell.currency,
        cost,
        prices.cost.currency if cost is not None else "",
    )
