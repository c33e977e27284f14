"""Rate a usage event at every hop of the distribution chain — each buyer at its plan, the last seller
at contract cost — on plain data.

The one rating function of every path (per batch, re-rating, bulk). No queries here: keys, models,
customers and prices were loaded once for the batch (``resolve`` and ``pricing``); this module only
computes. Events that cannot be rated keep a reason and are stored *unrated* (DESIGN §4.8); failed
requests are stored *not charged*.

Hops (``accounts.chain``): an event of customer C sold by the operator is rated at C's plan, with the
contract cost as its cost. When C's seller is a resale sub-distributor S, C's row costs what S pays for
the same request — S's own price (its plan, rated on the same counts) — and S's purchase is a *derived*
row (``Hop`` 1: customer S, sold at S's plan, cost at the next seller's price or, from the operator,
contract cost), and so on up to the operator. When C's plans are an agency sub-distributor A's, a
``COMMISSION`` row (hop 1, customer A) holds A's commission: retail less A's own price (basis *margin*)
or a share of retail (basis *percent*), in C's sell currency. The same holds for every seller's purchase
(a resale S buying at agency A's retail: A's commission on S's hop, one hop above it) and for an agency
buying at another agency's plan (the upper agency earns on the lower one's own price). If any hop cannot be
priced the whole event is unrated, its reason naming the hop: an end customer is never charged while its
seller's purchase is lost.
"""

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from billing.usage.models import UNIT_COLUMNS, RatingState
from billing.usage.pricing import BatchPricer, Unpriced
from catalog.models import AIModel, Channel
from catalog.rating import RatingError, rate_total
from common.stored_text import stored

# Plain strings (not the enum members): the bulk path formats them straight into COPY text.
RATED, UNRATED, NOT_CHARGED, COMMISSION = (
    RatingState.RATED.value,
    RatingState.UNRATED.value,
    RatingState.NOT_CHARGED.value,
    RatingState.COMMISSION.value,
)
# Rated amounts keep 24 places (``models.RATED_DIGITS``): a percentage commission is cut to them here, as
# the column would store it, so every path sums the same amounts.
RATED_PLACES = Decimal("1e-24")
ZERO = Decimal(0)
# The length of UsageEvent.unrated_reason.
MAX_REASON = 300


class Hop(NamedTuple):
    """One derived row of an event: the purchase (or the commission) at ``hop`` of its chain."""

    hop: int
    customer_id: int
    state: str  # RATED, or COMMISSION
    plan: str
    sell_amount: Decimal
    sell_currency: str
    cost_amount: Decimal | None = None
    cost_currency: str = ""
    # A commission's buyer, stored as the row's ``end_customer``: whose sale it rides on, which commission
    # statements and the margin-per-hop report credit it to. None: the event's own customer (every
    # purchase row, and a commission on the end customer's sale).
    buyer_id: int | None = None
    # A purchase's own time-of-day window (its buyer's plan's); blank: standard prices, and on commissions.
    window: str = ""


class Request(NamedTuple):
    """What every hop of one event is rated on: its instant, token counts, batch flag, unit counts and
    service tier (``event_rate``'s arguments)."""

    at: datetime
    counts: tuple[int, int, int, int, int, int]
    batch: bool
    units: tuple[int, int, int, int] | None
    service_tier: str


def units_of(row) -> tuple[int, int, int, int] | None:
    """A stored event's unit counts as ``event_rate`` takes them (``UNIT_COLUMNS`` order; None: all 0)."""
    units = tuple(getattr(row, c) for c in UNIT_COLUMNS)
    return units if any(units) else None


def request_total(schedule, request: Request) -> Decimal:
    return rate_total(
        schedule, *request.counts, request.batch, request.at, request.service_tier, request.units
    )


def request_window(schedule, request: Request) -> str:
    """The label of the time-of-day window of ``schedule`` that prices ``request``; blank: standard."""
    return schedule.window_label(request.at, request.batch) if schedule.windows else ""


class Rated(NamedTuple):
    """How one event is charged (amounts exact, in their currencies), with its derived rows (``hops``,
    when rated through a chain). A tuple: the bulk path builds one per event and unpacks it."""

    customer_id: int | None
    model_id: int | None
    state: str
    reason: str = ""
    plan: str = ""
    sell_amount: Decimal | None = None
    sell_currency: str = ""
    cost_amount: Decimal | None = None
    cost_currency: str = ""
    hops: tuple[Hop, ...] = ()
    # The time-of-day window (``TimeWindow.label``) whose prices the sale was rated at; blank: standard.
    window: str = ""
    # An unrated event's reason as stored text (common.stored_text), for ``UsageEvent.unrated_message``.
    message: dict | None = None


def unrated(
    customer_id: int | None, model_id: int | None, code: str, detail: str, detail_message: dict | None = None
) -> Rated:
    """An event that cannot be rated, with its reason as stored: ``"<code>: <detail>"`` (the codes are
    ``selectors.UNRATED_REASONS``), cut to the column's length, and as stored text: the code's message
    (``usage.unrated.<code>``) around ``detail_message`` (the English ``detail`` when there is none)."""
    message = stored(f"usage.unrated.{code}", detail=detail_message or detail)
    return Rated(customer_id, model_id, UNRATED, f"{code}: {detail}"[:MAX_REASON], message=message)


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
    channel: Channel | None = None,
    units: tuple[int, int, int, int] | None = None,
    service_tier: str = "",
    tried: tuple[str, ...] = (),
    disabled: str = "",
) -> Rated:
    """Return how an event is charged; never raises for a business reason.

    ``key`` and ``model_name`` are as the gateway sent them (for the reasons), ``customer_id``,
    ``model`` and ``channel`` (its upstream account) what they resolved to (None: unknown; an event on
    no known channel costs the best cost book's price), ``counts`` the six token counts in
    ``TOKEN_COLUMNS`` order, ``units`` the image and audio counts (``UNIT_COLUMNS`` order; None: all zero)
    and ``service_tier`` the tier the request asked for. Only totals are computed
    (``catalog.rating.rate_total``, equal to ``rate()``'s): per-class amounts are not stored per event.
    Every hop and the cost are rated with the same counts, tier and instant, so a time-of-day window
    prices each side by its own book; ``Rated.window`` names the sale's, ``Hop.window`` each purchase's.
    ``tried``: every key candidate looked up, in order (``CanonicalEvent.keys``), when there were several:
    an unknown key's reason names them all. ``disabled``: the disabled key that ended the lookup
    (``resolve.key_pick``), which the reason names instead.
    """
    model_id = model.pk if model is not None else None
    if customer_id is None and disabled:
        detail = stored("usage.unrated.disabled_key", gateway_key=repr(disabled))
        return unrated(None, model_id, "unknown_key", f"the gateway key {disabled!r} is disabled", detail)
    if customer_id is None and len(tried) > 1:
        names = ", ".join(repr(k) for k in tried)
        detail = stored("usage.unrated.no_such_keys", gateway_keys=names)
        reason = f"no customer has any of the keys {names} (tried in this order)"
        return unrated(None, model_id, "unknown_key", reason, detail)
    if customer_id is None:
        detail = stored("usage.unrated.no_such_key", gateway_key=repr(key))
        return unrated(None, model_id, "unknown_key", f"no customer has key {key!r}", detail)
    if model is None:
        detail = stored("usage.unrated.no_such_model", model=repr(model_name))
        return unrated(
            customer_id, None, "unknown_model", f"{model_name!r} is not a known model or alias", detail
        )
    if not succeeded:
        return Rated(customer_id, model_id, NOT_CHARGED)
    try:
        request = Request(at, counts, batch, units, service_tier)
        prices = pricer.prices(customer_id, model_id, at)
        sell = request_total(prices.sell, request)
        window = request_window(prices.sell, request)
        # Contract cost: the channel's when the event names a known one, else the best cost book's. Only
        # the row the operator sells carries it (the event, or its top hop in a resale chain).
        costs = prices.cost if channel is None else pricer.channel_cost(channel, model_id, at)
        sellers, agent = pricer.chain(customer_id)
        if sellers or agent is not None:
            return _chain_rate(customer_id, model_id, pricer, request, prices, sell, costs)._replace(
                window=window
            )
        cost = request_total(costs, request) if costs is not None else None
    except Unpriced as exc:
        return unrated(customer_id, model_id, exc.code, exc.reason, exc.message)
    except RatingError as exc:
        detail = stored("usage.unrated.field", field=exc.field, reason=exc.detail_message or exc.message)
        return unrated(customer_id, model_id, "not_rateable", f"{exc.field}: {exc.message}", detail)
    return Rated(
        customer_id,
        model_id,
        RATED,
        "",
        prices.plan,
        sell,
        prices.sell.currency,
        cost,
        costs.currency if cost is not None else "",
        window=window,
    )


def _hop_price(pricer: BatchPricer, buyer_id: int, model_id: int, request: Request, role: str):
    """``buyer_id``'s price for the event (its plan's ``Prices`` and the amount); a refusal names the hop."""
    try:
        prices = pricer.prices(buyer_id, model_id, request.at)
        return prices, request_total(prices.sell, request)
    except Unpriced as exc:
        name = pricer.customers[buyer_id].name
        message = _for_hop(exc.message or exc.reason, name, role)
        raise Unpriced(exc.code, f"{exc.reason} (for {name}'s {role})", message) from None
    except RatingError as exc:
        name = pricer.customers[buyer_id].name
        reason = stored("usage.unrated.field", field=exc.field, reason=exc.detail_message or exc.message)
        message = _for_hop(reason, name, role)
        raise Unpriced("not_rateable", f"{exc.field}: {exc.message} (for {name}'s {role})", message) from None


def _for_hop(reason, name: str, role: str) -> dict:
    """A hop's refusal as stored text: ``reason`` for ``name``'s ``role`` (purchase or commission)."""
    return stored("usage.unrated.for_hop", reason=reason, customer=name, role=stored(f"usage.unrated.{role}"))


def _chain_rate(customer_id, model_id, pricer: BatchPricer, request: Request, prices, sell, costs) -> Rated:
    """Rate an event of a customer sold through the chain (see the module docstring), ``costs`` the
    contract cost schedule (None: unknown); raise Unpriced when any hop cannot be priced."""
    sellers = pricer.chain(customer_id)[0]
    bought = [
        (hop, seller_id, *_hop_price(pricer, seller_id, model_id, request, "purchase"))
        for hop, seller_id in enumerate(sellers, 1)
    ]
    # From the top down, each buyer's row costs what its seller pays: the operator's, contract cost.
    cost = request_total(costs, request) if costs is not None else None
    cost_currency = costs.currency if cost is not None else ""
    hops = []
    for hop, buyer, own, amount in reversed(bought):
        window = request_window(own.sell, request)
        hops.append(
            Hop(hop, buyer, RATED, own.plan, amount, own.sell.currency, cost, cost_currency, window=window)
        )
        cost, cost_currency = amount, own.sell.currency
    hops.reverse()
    # An agency earns on every sale priced at its plans: the end customer's, and the purchase of each
    # seller on the way up whose own price is an agency's (a resale sub-distributor below an agency).
    hops += _commissions(pricer, customer_id, 0, model_id, request, prices, sell, None)
    for hop, buyer, own, amount in bought:
        hops += _commissions(pricer, buyer, hop, model_id, request, own, amount, buyer)
    return Rated(
        customer_id, model_id, RATED, "", prices.plan, sell, prices.sell.currency, cost, cost_currency,
        tuple(hops),
    )  # fmt: skip


def _commissions(pricer: BatchPricer, buyer_id, hop, model_id, request, prices, sell, named):
    """The ``COMMISSION`` rows on ``buyer_id``'s sale at ``hop`` (of ``sell`` at ``prices``; ``named``: the
    buyer as the rows record it, None for the event's customer): its agent's (``BatchPricer.chain``), then,
    while that agent's own price is another agency's plan, that agency's on the agent's own price (agency
    under agency, the agent its buyer), each one hop further up."""
    rows = []
    agent = pricer.chain(buyer_id)[1]
    while agent is not None:
        hop += 1
        commission, own = _commission(agent, pricer, model_id, request, prices, sell)
        rows.append(
            Hop(hop, agent.pk, COMMISSION, prices.plan, commission, prices.sell.currency, buyer_id=named)
        )
        above = pricer.chain(agent.pk)[1]
        if above is not None:
            prices, sell = own or _hop_price(pricer, agent.pk, model_id, request, "purchase")
            named = agent.pk
        agent = above
    return rows


def _commission(agent, pricer: BatchPricer, model_id, request, prices, sell):
    """The agency ``agent``'s commission on a sale of ``sell`` (in ``prices``' sell currency): retail less
    the agent's own price, or the agent's rate of retail; never below zero (a retail under the agent's
    own price earns it nothing — the retail floor is what keeps it above). Returns it with the agent's own
    price (``Prices`` and amount) when it was needed, else None."""
    if agent.commission_basis == agent.CommissionBasis.PERCENT:
        return max((sell * agent.commission_rate).quantize(RATED_PLACES), ZERO), None
    own, amount = _hop_price(pricer, agent.pk, model_id, request, "commission")
    if own.sell.currency != prices.sell.currency:
        currencies = {"agent": agent.name, "own": own.sell.currency, "theirs": prices.sell.currency}
        raise Unpriced(
            "not_rateable",
            f"{agent.name}'s price is in {own.sell.currency}, its customer's in {prices.sell.currency}: "
            "no commission can be worked out",
            stored("usage.unrated.commission_currency", **currencies),
        )
    return max(sell - amount, ZERO), (own, amount)
