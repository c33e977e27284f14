"""Draw token allowances (free grants, subscriptions, packs) down before money, per batch × customer.

How tokens count: an allowance of N tokens covers N tokens of ANY class, 1:1 — the event's
``prompt_tokens`` (uncached input, cache reads and cache writes are all part of it) plus its
``completion_tokens`` (reasoning included). So an event's size is ``prompt_tokens + completion_tokens``,
whatever each class costs. A partly covered event is charged for the uncovered share of its price:
``sell × uncovered / size`` (exact, then kept to the event's 24 places); a fully covered one costs 0 money
and is still rated at cost (margin reports need it). A request fee rides with the share too.

Images and audio seconds are not tokens: no token allowance covers them. The part of an event's price
that is per image and per audio second (``Draw.units``) is always charged whole, and only the rest is
shared: ``units + (sell − units) × uncovered / size`` — else an image call with a few prompt tokens would
get its images for free under any allowance, while its cost is still booked. (Audio *tokens* are tokens
and count with the others; the request fee stays with the shared part, as before.)

Order (DESIGN §5): earliest expiry first; at equal expiry a free grant before paid allowances
(subscription month, then pack); then oldest first. An allowance covers an event that happened while it
was valid (``starts_at <= occurred_at < expires_at``) on a model of its group (blank group: every model).
A subscription is valid month by month in the operator's time zone, each month with a fresh allowance
(its reset); what the allowance does not cover is rated at the plan's overage plan, or at the
customer's own plan when it has none.

Allowances in money units (``AllowanceUnit.CREDIT``) are not drawn here: a money free grant or a credit
pack is wallet credit, a lot in the granted or pack bucket (``billing.wallets.credits.grant_credit``, the
pack's purchase), and usage draws the lots valid when it happened, as here (``wallets.burn_down``).

Batched: ``balances_load`` reads and locks every balance of a batch's customers in ONE query (after
creating the missing rows), ``allowances_draw`` computes on plain data, ``draws_record`` writes one
update per touched balance and one ``AllowanceDraw`` row per batch × allowance — never per event.
Everything runs inside the usage batch's transaction, after its request ids were claimed, so a
duplicate never draws and a redelivered batch draws once.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal

from django.db.models import F, Q
from django.utils import timezone

from billing.allowances.models import AllowanceDraw, PackPurchase, Subscription, TokenAllowance
from catalog.models import AIModel, AllowanceUnit, FreeGrant, ModelGroup
from common.days import local_midnight

# Ordering at equal expiry: granted before paid.
PRIORITY = {TokenAllowance.Kind.GRANT: 0, TokenAllowance.Kind.SUBSCRIPTION: 1, TokenAllowance.Kind.PACK: 2}
_EXACT = Context(prec=80)
_PLACES = Decimal(1).scaleb(-24)  # billing.usage.models.RATED_DIGITS


@dataclass(slots=True)
class Balance:
    """One locked ``TokenAllowance`` as plain data."""

    pk: int
    customer_id: int
    kind: str
    starts_at: datetime
    expires_at: datetime
    model_ids: frozenset[int] | None  # None: every model
    remaining: int
    overage_plan_id: int | None = None  # subscriptions only
    used: int = 0
    events: int = 0

    def covers(self, at: datetime, model_id: int) -> bool:
        return self.starts_at <= at < self.expires_at and (
            self.model_ids is None or model_id in self.model_ids
        )


@dataclass(slots=True)
class Draw:
    """One rated event of a customer holding allowances; ``allowances_draw`` fills in the outputs."""

    ref: object  # the caller's handle on the event
    customer_id: int
    model_id: int
    at: datetime
    tokens: int
    sell: Decimal
    units: Decimal = Decimal(0)  # the part of ``sell`` per image and per audio second: never covered
    covered: int = 0  # output: tokens the allowances took
    charged: Decimal | None = None  # output: the new sell amount, None when unchanged
    overage_plan_id: int | None = None  # output: rate the rest at this plan (None: the customer's own)
    balances: list[int] = field(default_factory=list)


def event_tokens(prompt_tokens: int, completion_tokens: int) -> int:
    """Tokens an event takes from an allowance: every class counts 1:1 (see the module docstring)."""
    return prompt_tokens + completion_tokens


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _missing_create(*, customer_ids: set[int], start: datetime, end: datetime) -> None:
    """Create the balance rows usage in ``[start, end]`` may need and that do not exist yet."""
    rows = _missing_rows(customer_ids=customer_ids, start=start, end=end)
    if rows:
        # A concurrent batch may create the same row first: the unique constraints keep one.
        TokenAllowance.objects.bulk_create(rows, ignore_conflicts=True)


def _missing_rows(*, customer_ids: set[int], start: datetime, end: datetime) -> list[TokenAllowance]:
    """The balance rows usage in ``[start, end]`` may need and that do not exist yet (unsaved)."""
    rows = []
    packs = (
        PackPurchase.objects.filter(
            customer_id__in=customer_ids,
            pack__unit=AllowanceUnit.TOKENS,
            purchased_at__lte=end,
            expires_at__gt=start,
            token_allowance__isnull=True,
        )
        .select_related("pack")
        .order_by("pk")
    )
    for purchase in packs:
        tokens = int(purchase.pack.allowance)
        rows.append(
            TokenAllowance(
                customer_id=purchase.customer_id,
                kind=TokenAllowance.Kind.PACK,
                pack_purchase=purchase,
                group_id=purchase.pack.group_id,
                starts_at=purchase.purchased_at,
                expires_at=purchase.expires_at,
                tokens=tokens,
                remaining=tokens,
            )
        )
    grants = FreeGrant.objects.filter(
        customer_id__in=customer_ids,
        unit=AllowanceUnit.TOKENS,
        granted_at__lte=end,
        expires_at__gt=start,
        token_allowance__isnull=True,
    ).order_by("pk")
    for grant in grants:
        tokens = int(grant.amount)
        rows.append(
            TokenAllowance(
                customer_id=grant.customer_id,
                kind=TokenAllowance.Kind.GRANT,
                grant=grant,
                group_id=grant.group_id,
                starts_at=grant.granted_at,
                expires_at=grant.expires_at,
                tokens=tokens,
                remaining=tokens,
            )
        )
    first = timezone.localdate(start)
    last = timezone.localdate(end)
    subscriptions = (
        Subscription.objects.filter(
            customer_id__in=customer_ids, plan__unit=AllowanceUnit.TOKENS, starts_on__lte=last
        )
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=first))
        .select_related("plan")
        .order_by("pk")
    )
    have = set(
        TokenAllowance.objects.filter(subscription__in=subscriptions).values_list("subscription_id", "month")
    )
    for sub in subscriptions:
        month = _month_start(max(first, sub.starts_on))
        while month <= last and (sub.ends_on is None or month <= sub.ends_on):
            if (sub.pk, month) not in have:
                # The month's window, cut to the subscription's own days (its first and last day count).
                begin = local_midnight(max(month, sub.starts_on))
                until = _next_month(month)
                if sub.ends_on is not None:
                    until = min(until, sub.ends_on + timedelta(days=1))
                tokens = int(sub.plan.allowance)
                rows.append(
                    TokenAllowance(
                        customer_id=sub.customer_id,
                        kind=TokenAllowance.Kind.SUBSCRIPTION,
                        subscription=sub,
                        month=month,
                        group_id=sub.plan.group_id,
                        starts_at=begin,
                        expires_at=local_midnight(until),
                        tokens=tokens,
                        remaining=tokens,
                    )
                )
            month = _next_month(month)
    return rows


def _group_models(group_ids: set[int]) -> dict[int, frozenset[int]]:
    """Model ids per group: its listed models plus every model of its listed vendors."""
    found: dict[int, set[int]] = {g: set() for g in group_ids}
    through = ModelGroup.ai_models.through.objects.filter(modelgroup_id__in=group_ids)
    for group_id, model_id in through.values_list("modelgroup_id", "aimodel_id"):
        found[group_id].add(model_id)
    vendors = defaultdict(set)
    for group_id, vendor_id in ModelGroup.vendors.through.objects.filter(
        modelgroup_id__in=group_ids
    ).values_list("modelgroup_id", "vendor_id"):
        vendors[vendor_id].add(group_id)
    if vendors:
        for model_id, vendor_id in AIModel.objects.filter(vendor_id__in=vendors).values_list(
            "id", "vendor_id"
        ):
            for group_id in vendors[vendor_id]:
                found[group_id].add(model_id)
    return {g: frozenset(m) for g, m in found.items()}


def _valid(customer_ids: set[int], start: datetime, end: datetime):
    return TokenAllowance.objects.filter(
        customer_id__in=customer_ids, starts_at__lte=end, expires_at__gt=start
    ).filter(Q(remaining__gt=0) | Q(kind=TokenAllowance.Kind.SUBSCRIPTION))


def allowance_holders(*, customer_ids: Iterable[int], start: datetime, end: datetime) -> set[int]:
    """Return which of ``customer_ids`` hold, or will hold once ``balances_load`` creates their balance
    rows, a token allowance valid in ``[start, end]``. Reads only, and takes no lock.

    A cheap test so a batch of customers without allowances skips the draw-down altogether. It writes
    nothing, so a bulk writer can ask while another chunk's uncommitted balance rows exist: creating the
    same row would wait for that chunk, which may be waiting for this one's turn.
    """
    customer_ids = set(customer_ids)
    if not customer_ids:
        return set()
    held = set(_valid(customer_ids, start, end).values_list("customer_id", flat=True).distinct())
    return held | {row.customer_id for row in _missing_rows(customer_ids=customer_ids, start=start, end=end)}


def balances_load(*, customer_ids: Iterable[int], start: datetime, end: datetime) -> dict[int, list[Balance]]:
    """Create missing balance rows, then lock and return those valid in ``[start, end]``, per customer.

    One locking query for all customers (rows in id order, so concurrent batches queue, never deadlock).
    Exhausted subscription months are returned too: their overage plan still rates what they missed.
    """
    customer_ids = set(customer_ids)
    if not customer_ids:
        return {}
    _missing_create(customer_ids=customer_ids, start=start, end=end)
    rows = list(
        _valid(customer_ids, start, end)
        .select_for_update(of=("self",))
        .select_related("subscription__plan")
        .order_by("pk")
    )
    groups = _group_models({r.group_id for r in rows if r.group_id is not None})
    found: dict[int, list[Balance]] = defaultdict(list)
    for row in rows:
        found[row.customer_id].append(
            Balance(
                pk=row.pk,
                customer_id=row.customer_id,
                kind=row.kind,
                starts_at=row.starts_at,
                expires_at=row.expires_at,
                model_ids=groups[row.group_id] if row.group_id is not None else None,
                remaining=row.remaining,
                overage_plan_id=row.subscription.plan.overage_plan_id if row.subscription_id else None,
            )
        )
    for balances in found.values():
        balances.sort(key=lambda b: (b.expires_at, PRIORITY[b.kind], b.pk))
    return dict(found)


def allowances_draw(
    *,
    draws: list[Draw],
    balances: dict[int, list[Balance]],
    overage_price: Callable[[Draw, int], tuple[Decimal, Decimal] | None] | None = None,
) -> list[Draw]:
    """Take each event's tokens from its customer's balances, oldest event first; return the changed ones.

    ``overage_price(draw, plan_id)`` returns the event's full sell amount at that plan and the part of it
    per image and per audio second, as ``Draw.units`` is of ``sell`` (None: it cannot be priced there,
    the customer's own price stands). Pure computation on the loaded balances.
    """
    changed = []
    for d in sorted(draws, key=lambda d: d.at):
        own = balances.get(d.customer_id)
        if not own or d.tokens <= 0:
            continue
        need = d.tokens
        overage = None
        for b in own:
            if not b.covers(d.at, d.model_id):
                continue
            if overage is None and b.overage_plan_id is not None:
                overage = b.overage_plan_id
            take = min(need, b.remaining - b.used)
            if take > 0:
                b.used += take
                b.events += 1
                need -= take
                d.balances.append(b.pk)
        d.covered = d.tokens - need
        base, units = d.sell, d.units
        if need and overage is not None and overage_price is not None:
            price = overage_price(d, overage)
            if price is not None:
                base, units = price
                d.overage_plan_id = overage
        if d.covered or d.overage_plan_id is not None:
            shared = _EXACT.subtract(base, units)
            share = _EXACT.divide(_EXACT.multiply(shared, Decimal(need)), Decimal(d.tokens))
            charged = _EXACT.add(units, share)
            d.charged = charged.quantize(_PLACES, rounding=ROUND_HALF_EVEN, context=_EXACT)
            changed.append(d)
    return changed


def draws_record(*, batch, balances: dict[int, list[Balance]]) -> int:
    """Write what ``allowances_draw`` took: one update per balance and one row per batch × balance."""
    used = [b for own in balances.values() for b in own if b.used]
    for b in used:
        TokenAllowance.objects.filter(pk=b.pk).update(remaining=F("remaining") - b.used)
    AllowanceDraw.objects.bulk_create(
        [AllowanceDraw(allowance_id=b.pk, batch=batch, tokens=b.used, events=b.events) for b in used]
    )
    return sum(b.used for b in used)
