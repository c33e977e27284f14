"""Load every price a batch needs once, then answer (customer, model, time) from memory.

"Load once, compute on plain data": a batch spans a time range in which prices, plan rules, plan
assignments and exchange rates may change. Those change points split the range into segments; within a
segment one ``catalog.selectors.pricing.PricingSnapshot`` prices everything, so a batch of 10,000 events
usually costs a handful of queries, not one per event.
"""

import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from accounts.models import Customer
from catalog.errors import MissingFxRate, NoPlan, NoPrice, PricingError
from catalog.models import AIModel, BookKind, Channel, PlanAssignment, PlanRule, PriceEntry, SellPlan
from catalog.rating import PriceSchedule
from catalog.selectors.channels import channel_cost
from catalog.selectors.pricing import PricingSnapshot, plan_for_customer
from common.days import local_midnight
from common.stored_text import stored


@dataclass(frozen=True, slots=True)
class Prices:
    """What rates one customer's use of one model during one segment."""

    plan: str
    sell: PriceSchedule
    cost: PriceSchedule | None


class Unpriced(Exception):
    """Why an event cannot be rated; ``code`` is stable, ``reason`` is for staff."""

    def __init__(self, code: str, reason: str, message: dict | None = None):
        super().__init__(reason)
        self.code = code
        self.reason = reason
        # ``reason`` as stored text (common.stored_text), for the event's ``unrated_message``.
        self.message = message


def _change_points(
    *, start: datetime, end: datetime, model_ids, customer_chain_ids
) -> tuple[list[datetime], list[datetime]]:
    """Return every change point in ``[start, end]`` and, among them, those of plan assignments."""
    points: set[datetime] = {start}
    window = Q(effective_from__gt=start, effective_from__lte=end) | Q(
        effective_to__gt=start, effective_to__lte=end
    )
    assignment_points: set[datetime] = set()
    for queryset, found in (
        (PriceEntry.objects.filter(window, model_id__in=model_ids), points),
        (PlanRule.objects.filter(window), points),
        (PlanAssignment.objects.filter(window, customer_id__in=customer_chain_ids), assignment_points),
    ):
        for frm, to in queryset.values_list("effective_from", "effective_to"):
            found.update(p for p in (frm, to) if p is not None and start < p <= end)
    points |= assignment_points
    # Exchange rates are daily: a segment never crosses the operator's midnight.
    day = timezone.localtime(start).date() + timedelta(days=1)
    while True:
        midnight = local_midnight(day)
        if midnight > end:
            break
        points.add(midnight)
        day += timedelta(days=1)
    return sorted(points), sorted({start} | assignment_points)


_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)
_NEVER = _LATEST  # an empty range: lo <= at < hi holds for no time


def chain_complete(customers: dict[int, Customer]) -> dict[int, Customer]:
    """``customers`` and every customer their chain reaches — their sellers up to the operator and their
    price owners, with theirs (all ancestors) — loaded in one query when any is missing."""
    missing = {
        pk
        for c in customers.values()
        # Every ancestor when sold or priced by one: the sellers up to the operator, and the agents whose
        # commissions ride on the sale (an agency's own price may be another agency's plan).
        for pk in (
            c.seller_id,
            c.price_owner_id,
            *(c.ancestor_ids() if c.seller_id or c.price_owner_id else ()),
        )
        if pk is not None and pk not in customers
    }
    if not missing:
        return customers
    found = Customer.objects.filter(pk__in=missing).select_related("billing_terms")
    return {**customers, **{c.pk: c for c in found}}


class BatchPricer:
    """Prices for the customers and models of one batch over ``[start, end]``; ``customers`` gets their
    chains' customers added (``chain_complete``), so every hop of an event can be priced."""

    def __init__(self, *, customers: dict[int, Customer], models: dict[int, AIModel], start, end):
        customers = chain_complete(customers)
        self.customers = customers
        self.models = models
        self.customer_ids = frozenset(customers)
        self.start, self.end = start, end
        self._chain_ids = list({a for c in customers.values() for a in c.ancestor_ids()} | set(customers))
        self.points, self.assignment_points = _change_points(
            start=start, end=end, model_ids=list(models), customer_chain_ids=self._chain_ids
        )
        self._snapshots: dict[datetime, PricingSnapshot] = {}
        self._plans: dict[tuple[int, datetime], object] = {}
        self._by_customer: dict[tuple[int, int, datetime], Prices | Unpriced] = {}
        # Customers share plans: price each (plan, model, segment) once, however many customers use it.
        self._by_plan: dict[tuple[int, int, datetime], Prices | Unpriced] = {}
        self._plan_objects: dict[int, SellPlan] = {}
        # A channel's cost per (channel, model, segment): its contract's schedule, None (not priced) or
        # Unpriced (its exchange rate missing).
        self._channel_costs: dict[tuple[int, int, datetime], PriceSchedule | Unpriced | None] = {}
        self._recent: tuple[datetime, datetime, datetime | None] = (_NEVER, _NEVER, None)
        self._chains: dict[int, tuple[tuple[int, ...], Customer | None]] = {}

    def chain(self, customer_id: int) -> tuple[tuple[int, ...], Customer | None]:
        """``customer_id``'s sellers, nearest first, up to the operator (empty: sold by the operator), and
        the agency sub-distributor earning a commission on its usage (``accounts.chain.agent_of``), or
        None. Worked out once per customer: rating asks for every event."""
        found = self._chains.get(customer_id)
        if found is None:
            customer = self.customers[customer_id]
            sellers, seller_id = [], customer.seller_id
            while seller_id is not None:
                sellers.append(seller_id)
                seller_id = self.customers[seller_id].seller_id
            owner = self.customers.get(customer.price_owner_id) if customer.price_owner_id else None
            agent = owner if owner is not None and owner.chain_mode == Customer.ChainMode.AGENCY else None
            found = self._chains[customer_id] = (tuple(sellers), agent)
        return found

    def covers(self, *, customer_ids, model_ids) -> bool:
        """Whether this pricer was built for all of these customers and models."""
        return self.customer_ids.issuperset(customer_ids) and self.models.keys() >= set(model_ids)

    def extend(self, *, start: datetime, end: datetime) -> None:
        """Widen the window to include ``[start, end]``, keeping every price looked up so far.

        What was priced stays right: a segment's prices hold from its start until the next change point,
        and widening only adds change points (from the new part of the window; a window's own start is a
        point too, which merely splits a segment). Same customers and models only (see ``covers``).
        """
        for lo, hi, forward in ((start, self.start, False), (self.end, end, True)):
            if lo < hi:
                points, assignment_points = _change_points(
                    start=lo, end=hi, model_ids=list(self.models), customer_chain_ids=self._chain_ids
                )
                # Widening forward, the old end is no change point: adding it would only split a
                # segment and make every price and plan be looked up again.
                drop = {lo} if forward else set()
                self.points = sorted(set(self.points) | (set(points) - drop))
                self.assignment_points = sorted(set(self.assignment_points) | (set(assignment_points) - drop))
                self._recent = (_NEVER, _NEVER, None)
        self.start, self.end = min(self.start, start), max(self.end, end)

    def forget_before(self, at: datetime) -> None:
        """Drop what was priced for segments that end before ``at``'s, so a long-running pricer (the bulk
        path's, widened slice by slice through a time-ordered file) holds a few days of prices, not the
        whole file's; anything needed again is looked up again."""
        first = self._segment(at)
        for segment in [s for s in self._snapshots if s < first]:
            del self._snapshots[segment]
        for cache in (self._by_customer, self._by_plan, self._channel_costs):
            for key in [k for k in cache if k[2] < first]:
                del cache[key]

    def _segment(self, at: datetime) -> datetime:
        # Events come in time order, so nearly all fall in the segment the one before did: two
        # comparisons instead of a search of the change points (that search was ~6% of the bulk
        # producer's time). The remembered segment is forgotten whenever the change points change.
        lo, hi, segment = self._recent
        if lo <= at < hi:
            return segment
        points = self.points
        index = max(bisect.bisect_right(points, at) - 1, 0)
        lo = points[index] if index else _EARLIEST
        hi = points[index + 1] if index + 1 < len(points) else _LATEST
        self._recent = (lo, hi, points[index])
        return points[index]

    def _snapshot(self, segment: datetime) -> PricingSnapshot:
        snapshot = self._snapshots.get(segment)
        if snapshot is None:
            snapshot = self._snapshots[segment] = PricingSnapshot(segment, model_ids=list(self.models))
        return snapshot

    def channel_cost(self, channel: Channel, model_id: int, at: datetime) -> PriceSchedule | None:
        """``model_id``'s cost on ``channel`` at ``at``, in the contract's currency (``channel_cost``);
        None when the contract prices no such model then: cost unknown. Raises Unpriced (``missing_fx``)
        when the rate to the contract's currency is missing: the event waits for it, unrated, instead of
        being costless for good. The change points already hold every price entry of the batch's models,
        so a contract's book cannot change inside a segment."""
        key = (channel.id, model_id, self._segment(at))
        if key not in self._channel_costs:
            try:
                found = channel_cost(self._snapshot(key[2]), channel, self.models[model_id])
            except MissingFxRate as exc:
                found = Unpriced(
                    "missing_fx",
                    f"{exc.detail} (cost on channel {channel.name})",
                    stored(
                        "usage.unrated.channel_cost",
                        reason=exc.detail_message or exc.detail,
                        channel=channel.name,
                    ),
                )
            self._channel_costs[key] = found
        found = self._channel_costs[key]
        if isinstance(found, Unpriced):
            raise found
        return found

    def best_cost(self, model_id: int, at: datetime) -> PriceSchedule | None:
        """``model_id``'s cost at ``at`` on an upstream account no channel names: the best cost book's, in
        its own currency (as ``prices`` gives it); None when no cost book prices it."""
        return self._snapshot(self._segment(at)).best_schedule(BookKind.COST, self.models[model_id])

    def prices(self, customer_id: int, model_id: int, at: datetime) -> Prices:
        """Return the sell and cost schedules in force at ``at``; raise Unpriced saying why not."""
        segment = self._segment(at)
        key = (customer_id, model_id, segment)
        found = self._by_customer.get(key)
        if found is None:
            found = self._by_customer[key] = self._load(customer_id, model_id, segment)
        if isinstance(found, Unpriced):
            raise found
        return found

    def plan_prices(self, plan_id: int, model_id: int, at: datetime) -> Prices:
        """Return ``model_id``'s prices at ``at`` under the plan ``plan_id`` (e.g. a subscription's
        overage plan) rather than the customer's own; raise Unpriced saying why not."""
        segment = self._segment(at)
        key = (plan_id, model_id, segment)
        if key not in self._by_plan:
            snapshot = self._snapshot(segment)
            plan = self._plan_objects.get(plan_id)
            if plan is None:
                plan = self._plan_objects[plan_id] = SellPlan.objects.get(pk=plan_id)
            self._by_plan[key] = self._plan_prices(snapshot, plan, self.models[model_id])
        found = self._by_plan[key]
        if isinstance(found, Unpriced):
            raise found
        return found

    def _load(self, customer_id: int, model_id: int, segment: datetime) -> Prices | Unpriced:
        snapshot = self._snapshot(segment)
        model = self.models[model_id]
        # Which plan applies changes only where a plan assignment of the customer's chain starts or ends
        # (plan_for_customer reads nothing else that depends on time), so it is looked up once per span
        # between those points, not once per segment (segments also split at every local midnight).
        span = self.assignment_points[max(bisect.bisect_right(self.assignment_points, segment) - 1, 0)]
        plan_key = (customer_id, span)
        if plan_key not in self._plans:
            try:
                self._plans[plan_key] = plan_for_customer(self.customers[customer_id], span)[0]
            except NoPlan as exc:
                self._plans[plan_key] = Unpriced("no_plan", exc.message, exc.detail_message)
        plan = self._plans[plan_key]
        if isinstance(plan, Unpriced):
            return plan
        by_plan = (plan.pk, model_id, segment)
        if by_plan not in self._by_plan:
            self._by_plan[by_plan] = self._plan_prices(snapshot, plan, model)
        return self._by_plan[by_plan]

    def _plan_prices(self, snapshot: PricingSnapshot, plan, model: AIModel) -> Prices | Unpriced:
        # The reason keeps the whole cause (``detail``): only operator staff read unrated reasons.
        try:
            price = snapshot.plan_price(plan, model)
        except NoPrice as exc:
            return Unpriced("no_price", exc.detail, exc.detail_message)
        except MissingFxRate as exc:
            return Unpriced("missing_fx", exc.detail, exc.detail_message)
        except NoPlan as exc:  # a sub-distributor's plan built on its own buy plan, which it lacks
            return Unpriced("no_plan", exc.detail, exc.detail_message)
        except PricingError as exc:  # pragma: no cover - any other catalog refusal
            return Unpriced("no_price", exc.detail, exc.detail_message)
        # Cost is kept in the cost book's own currency: that is what the vendor bills and what the
        # upstream accounts hold; margin reports convert. This is the cost of an event on no known channel;
        # on a mapped one, rating asks ``channel_cost`` instead.
        return Prices(plan=plan.name, sell=price.sell, cost=snapshot.best_schedule(BookKind.COST, model))
