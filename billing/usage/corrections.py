"""Re-rate already-rated usage after a price error: the difference is posted now, the past is never edited.

Finance picks a customer × model × time range. Each rated event in it is rated again by the one rating
function (``rating.event_rate``) at the prices now in force *for its time*; the events and the rollups take
the new amounts (by the delta, so the rollups stay the sum of their events), and the ledger gets only the
difference, under the terms in force at each event's ``occurred_at`` (``billing.terms.spans``):

* credit-time usage: Dr/Cr unbilled receivable against usage revenue. The close bills usage cumulatively
  (rated usage to date minus what invoices billed), so the next invoice carries the difference on its
  usage line — or, when the difference is a net credit, reduces it;
* prepaid-time usage: what cost more is debited from the lots valid when it happened (below the floor if
  need be: the usage happened); what cost less goes back to the lots and buckets its charges drew, paid
  credit last and never more than it gave (``correction_wallet``);
* cost at contract price: Dr/Cr cost of tokens against the upstream account the cost was posted to — the
  event's channel's (``postings.usage_cost_credit``), or the vendor's for an account no channel names.

Each posting carries an idempotency key under the correction's own (``usage-correction:<id>:…``), and the
correction is one durable transaction with its audit row (``UsageCorrection``). Re-running it finds every
event already at its prices and posts nothing. Events covered by token allowances (packs, subscriptions)
are left alone: their charge is the allowance's overage, not the price list's; so are events the prices
now in force cannot rate, or would rate in another currency (``RerateDiff.skipped`` says which and why).

Usage sold through the distribution chain is refused (``chain_refusal``): each of its events is charged
at every hop (``rating``), in several books, and re-rating one hop would leave the others at the old price.
"""

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from accounts.chain import agent_of
from accounts.models import Customer
from billing.allowances.models import AllowanceDraw
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind
from billing.ledger.services import credit, debit, request_fingerprint, transaction_post
from billing.money import ledger_round
from billing.terms.spans import spans_of
from billing.usage.correction_wallet import prepaid_post
from billing.usage.models import TOKEN_COLUMNS, RatingState, UsageBatch, UsageCorrection, UsageEvent
from billing.usage.postings import usage_cost_credit
from billing.usage.pricing import BatchPricer
from billing.usage.rating import RATED, event_rate, units_of
from billing.usage.resolve import channels_load, channels_lock_shared
from billing.usage.rollups import rollups_move
from catalog.models import AIModel
from common.stored_text import stored

CREDIT, PREPAID = "credit", "prepaid"
ZERO = Decimal(0)


@dataclass
class RerateDiff:
    """What re-rating a scope would change: per (mode, currency) the sell difference, per (vendor,
    currency, channel id or 0) the cost difference, the events that change and those left alone with the
    reason; ``channels``: the scope's channels by id; ``before``: each changed event as it was stored (and
    rolled up), by id."""

    events: int = 0
    changed: list[tuple[UsageEvent, Decimal, Decimal]] = field(default_factory=list)  # event, sell, cost
    before: dict[int, UsageEvent] = field(default_factory=dict)
    modes: dict[int, str] = field(default_factory=dict)  # event id → credit/prepaid
    sell: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    cost: dict[tuple[int, str, int], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    skipped: list[tuple[UsageEvent, str]] = field(default_factory=list)
    channels: dict = field(default_factory=dict)

    @property
    def sell_rows(self) -> list[tuple[str, str, Decimal]]:
        return [(mode, ccy, amount) for (mode, ccy), amount in sorted(self.sell.items()) if amount]


def _scope(customer: Customer, model: AIModel, since: datetime, until: datetime):
    return UsageEvent.objects.filter(
        customer_id=customer.pk,
        model_id=model.pk,
        occurred_at__gte=since,
        occurred_at__lt=until,
        rating_state=RatingState.RATED,
    ).order_by("occurred_at", "id")


def chain_refusal(customer: Customer, model: AIModel, since: datetime, until: datetime) -> str | None:
    """Why the scope cannot be corrected here (its events are charged at more than one hop), or None."""
    if (
        customer.seller_id is not None
        or agent_of(customer) is not None
        or _scope(customer, model, since, until).filter(hop__gt=0).exists()
    ):
        return _(
            "%(customer)s's usage is sold through the distribution chain: each event is charged at every "
            "hop (the end customer, each seller's purchase, an agent's commission), in several books, and a "
            "correction would re-rate only one of them. Post adjustments in each book instead."
        ) % {"customer": customer.name}
    return None


def _drawn_batches(customer: Customer) -> set[int]:
    """Batches that drew token allowances of ``customer``: their events' charge is the allowance's."""
    return set(
        AllowanceDraw.objects.filter(allowance__customer_id=customer.pk).values_list("batch_id", flat=True)
    )


def rerate_diff(
    *, customer: Customer, model: AIModel, since: datetime, until: datetime, lock: bool = False
) -> RerateDiff:
    """Rate the scope's events again in memory and say what would change (nothing is written)."""
    scope = _scope(customer, model, since, until)
    if lock:
        channels_lock_shared()  # the events' channels stay as resolved below until the correction commits
    rows = list(scope.select_for_update() if lock else scope)
    diff = RerateDiff(events=len(rows))
    if not rows:
        return diff
    refusal = chain_refusal(customer, model, since, until)
    if refusal is not None:
        diff.skipped = [(row, refusal) for row in rows]
        return diff
    drawn = _drawn_batches(customer)
    pricer = BatchPricer(
        customers={customer.pk: customer},
        models={model.pk: model},
        start=rows[0].occurred_at,
        end=rows[-1].occurred_at,
    )
    spans = spans_of([customer.pk])[customer.pk]
    channels = channels_load({row.upstream_account for row in rows})
    diff.channels = {c.pk: c for c in channels.values()}
    for row in rows:
        channel = channels.get(row.upstream_account)
        if row.batch_id in drawn or row.rated_in_id in drawn:
            diff.skipped.append((row, _("drawn from a token allowance")))
            continue
        rated = event_rate(
            key=row.gateway_key,
            model_name=row.model_name,
            customer_id=customer.pk,
            model=model,
            pricer=pricer,
            at=row.occurred_at,
            counts=tuple(getattr(row, c) for c in TOKEN_COLUMNS),
            batch=row.is_batch,
            succeeded=row.succeeded,
            channel=channel,
            units=units_of(row),
            service_tier=row.service_tier,
        )
        if rated.state != RATED:
            diff.skipped.append((row, rated.reason))
            continue
        if rated.sell_currency != row.sell_currency or (
            row.cost_currency and rated.cost_currency != row.cost_currency
        ):
            diff.skipped.append((row, _("the prices now in force are in another currency")))
            continue
        sell = rated.sell_amount - (row.sell_amount or ZERO)
        cost = (rated.cost_amount or ZERO) - (row.cost_amount or ZERO)
        if not sell and not cost and rated.window == row.price_window:
            continue
        mode = CREDIT if spans.at(row.occurred_at).is_credit else PREPAID
        diff.before[row.pk] = copy.copy(row)
        row.sell_amount, row.cost_amount, row.sell_plan = rated.sell_amount, rated.cost_amount, rated.plan
        # A window added to (or dropped from) the book since moves the event in or out of its window rows.
        row.price_window = rated.window
        diff.changed.append((row, sell, cost))
        diff.modes[row.pk] = mode
        diff.sell[(mode, row.sell_currency)] += sell
        if cost:
            if channel is None:
                diff.cost[(model.vendor_id, row.cost_currency or rated.cost_currency, 0)] += cost
            else:
                diff.cost[(channel.contract.vendor_id, rated.cost_currency, channel.pk)] += cost
    return diff


def _moved(debited, credited, amount: Decimal, currency: str) -> list:
    """Dr ``debited`` / Cr ``credited`` of ``amount``; the other way round when it is negative."""
    if amount < 0:
        debited, credited, amount = credited, debited, -amount
    return [debit(debited, amount, currency), credit(credited, amount, currency)]


def _post(correction: UsageCorrection, diff: RerateDiff, customer: Customer, model: AIModel, actor) -> None:
    key, memo = f"usage-correction:{correction.pk}", f"Usage re-rated: {correction.reason}"[:500]
    memo_message = stored("usage.memo.rerated", reason=correction.reason)
    # The source every usage posting has (``usage_batch:<id>``), the correction's run: the checks of
    # ``billing_verify`` find the difference beside the batches' postings.
    source = f"usage_batch:{correction.batch_id}"
    for mode, ccy, exact in diff.sell_rows:
        amount = ledger_round(exact)
        if mode != CREDIT or not amount:
            continue
        revenue = account_get(kind=AccountKind.REVENUE_USAGE, currency=ccy)
        unbilled = account_get(kind=AccountKind.UNBILLED_RECEIVABLE, currency=ccy, customer=customer)
        transaction_post(
            idempotency_key=f"{key}:{mode}:{ccy}",
            kind="usage.correction",
            lines=_moved(unbilled, revenue, amount, ccy),
            memo=memo,
            memo_message=memo_message,
            source=source,
            actor=actor,
        )
    prepaid_post(
        correction=correction,
        changed=[(e, sell) for e, sell, _cost in diff.changed if sell and diff.modes[e.pk] == PREPAID],
        revenue_of=lambda ccy: account_get(kind=AccountKind.REVENUE_USAGE, currency=ccy),
        memo=memo,
        memo_message=memo_message,
        source=source,
        actor=actor,
    )
    for (_vendor, ccy, channel_id), exact in sorted(diff.cost.items()):
        amount = ledger_round(exact)
        if not amount:
            continue
        kind, owner = usage_cost_credit(diff.channels.get(channel_id), model.vendor)
        cost = account_get(kind=AccountKind.COST_OF_TOKENS, currency=ccy, vendor=owner["vendor"])
        owed = account_get(kind=kind, currency=ccy, **owner)
        transaction_post(
            # The key a correction had before channels, for cost on no channel: a replay stays a replay.
            idempotency_key=f"{key}:cost:{ccy}" if not channel_id else f"{key}:cost:ch{channel_id}:{ccy}",
            kind="usage.correction",
            lines=_moved(cost, owed, amount, ccy),
            memo=memo,
            memo_message=memo_message,
            source=source,
            actor=actor,
        )


def usage_correct(
    *,
    customer: Customer,
    model: AIModel,
    since: datetime,
    until: datetime,
    reason: str,
    actor,
    idempotency_key: str,
) -> UsageCorrection:
    """Re-rate the customer's rated usage of ``model`` in ``[since, until)`` and post the difference.

    Replaying ``idempotency_key`` with the same request returns the first correction; with another, or
    with nothing to correct (every event already at its prices), raises ``ValidationError``.
    """
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the usage is re-rated.")})
    if since >= until:
        raise ValidationError({"until": _("The end must be after the start.")})
    request = {
        "customer": customer.pk,
        "model": model.pk,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "reason": reason,
    }
    request_hash = request_fingerprint(request)
    with transaction.atomic(durable=True):
        existing = UsageCorrection.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_hash != request_hash:
                raise ValidationError(_("This correction key was already used for another re-rating."))
            return existing
        refusal = chain_refusal(customer, model, since, until)
        if refusal is not None:
            raise ValidationError(refusal)
        diff = rerate_diff(customer=customer, model=model, since=since, until=until, lock=True)
        if not diff.changed:
            raise ValidationError(
                _("Nothing to re-rate: every event in the range is already at the prices in force.")
            )
        batch = UsageBatch.objects.create(
            source=None,
            idempotency_key=f"usage-correction:{idempotency_key}"[:200],
            request_hash=request_hash,
            fmt="correction",
            received=diff.events,
            accepted=len(diff.changed),
        )
        correction = UsageCorrection.objects.create(
            batch=batch,
            customer=customer,
            model=model,
            since=since,
            until=until,
            reason=reason,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            events=len(diff.changed),
            deltas=[
                {"mode": m, "currency": c, "sell": format(a.normalize(), "f")} for m, c, a in diff.sell_rows
            ],
            created_by=actor,
        )
        for e, _sell, _cost in diff.changed:
            # rated_in: the run that charged the event last, so the checks see it as charged after any
            # close that began before the correction (its difference waits for the next close).
            UsageEvent.objects.filter(Q(pk=e.pk, occurred_at=e.occurred_at)).update(
                sell_amount=e.sell_amount,
                cost_amount=e.cost_amount,
                sell_plan=e.sell_plan,
                price_window=e.price_window,
                rated_in_id=batch.pk,
            )
        rollups_move(
            before=[diff.before[e.pk] for e, _sell, _cost in diff.changed],
            after=[e for e, _sell, _cost in diff.changed],
        )
        _post(correction, diff, customer, model, actor)
    return correction
