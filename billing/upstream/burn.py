"""Burn: which packs a day's consumption on a channel drew, and what makes cost equal what we paid.

Usage postings already credit the channel's prepaid asset with the consumption at contract cost. The burn
says which purchase that consumption came out of, and corrects the value where a pack was bought at
another price than the contract cost it gives:

* packs are drawn **earliest expiry first** (no expiry last; ties: the oldest purchase, then the lowest
  id), as Zhipu documents its 资源包; a pack draws on the days it is valid (from ``starts_at`` until
  ``expires_at``);
* an amount pack or prepayment draws consumption at contract cost (models in id order) up to its credit;
* a token pack draws only the tokens of its model (or of any model), valuing them at the contract cost of
  those tokens;
* per pack and day one ``UpstreamDraw``; and, where the pack's value differs from contract cost, the
  difference posted Dr UPSTREAM_PREPAID / Cr COST_OF_TOKENS (or the reverse): for an amount pack
  ``drawn × (1 − price ÷ credit)``, for a token pack ``contract cost of the tokens − price × tokens ÷ pack
  tokens``. Over a pack's life the asset then falls by exactly its price.

Re-running a day (late usage) recomputes that day's draws against what the packs have left on the other
days and posts only the difference from what was posted before (a new transaction, never an edit); the
daily run finds the days to re-run (``reburn``). A pack whose expiry was posted draws no more than it had
(late usage of its days draws the next pack); when a correction makes it draw less, what it no longer
draws is expired too (``pack_value.expiry_top_up``), so a pack gone leaves nothing on the asset.

Days are whole operator days (the rollups' day): a pack expiring mid-day draws that whole day's usage,
including the hours after its expiry instant (the channel page says so).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Sum

from billing.ledger.models import AccountKind, JournalEntry
from billing.ledger.services import credit, debit, transaction_post
from billing.money import ledger_round
from billing.upstream.consumption import ModelUse, daily_use
from billing.upstream.ledger_accounts import channel_account, vendor_expense
from billing.upstream.models import UpstreamDraw, UpstreamPack
from billing.upstream.pack_value import expiry_top_up
from catalog.models import Channel, Settlement
from common.stored_text import day as day_param
from common.stored_text import money, stored

K = AccountKind
Kind = UpstreamPack.Kind
ZERO = Decimal(0)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of ``day`` in the operator's zone (the rollups' day)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def burn_order(packs):
    """``packs`` in the order consumption draws them."""
    far = datetime.max.replace(tzinfo=ZoneInfo("UTC"))
    return sorted(packs, key=lambda p: (p.expires_at or far, p.purchased_at, p.pk))


@dataclass
class _Left:
    """What is left of one model's consumption while packs draw it."""

    cost: Decimal
    tokens: Decimal


@dataclass
class Draw:
    """One pack's draw on one day: ``credit`` at contract cost, ``tokens`` drawn."""

    pack: UpstreamPack
    credit: Decimal = ZERO
    tokens: int = 0
    adjustment: Decimal = ZERO
    posted: list = field(default_factory=list)


def _draw_credit(left: dict[int, _Left], available: Decimal) -> tuple[Decimal, int]:
    drawn, tokens = ZERO, ZERO
    for model_id in sorted(left):
        use = left[model_id]
        take = min(available - drawn, use.cost)
        if take <= 0:
            continue
        share = use.tokens * take / use.cost
        use.cost -= take
        use.tokens -= share
        drawn += take
        tokens += share
    return ledger_round(drawn), int(tokens.to_integral_value())


def _draw_tokens(left: dict[int, _Left], available: int, model_id: int | None) -> tuple[Decimal, int]:
    cost, drawn = ZERO, 0
    for mid in sorted(left) if model_id is None else [model_id]:
        use = left.get(mid)
        if use is None or use.tokens < 1:
            continue
        take = min(available - drawn, int(use.tokens))
        if take <= 0:
            continue
        share = use.cost * take / use.tokens
        use.cost -= share
        use.tokens -= take
        cost += share
        drawn += take
    return ledger_round(cost), drawn


def adjustment_of(pack: UpstreamPack, credit_drawn: Decimal, tokens_drawn: int) -> Decimal:
    """What a draw's value at the pack's price differs from its contract cost (positive: we paid less)."""
    if pack.kind == Kind.TOKENS:
        return ledger_round(credit_drawn - pack.price * tokens_drawn / pack.tokens)
    if not pack.credit:
        return ZERO
    return ledger_round(credit_drawn * (1 - pack.price / pack.credit))


def allocate(packs, drawn_elsewhere: dict, frozen: dict, uses: dict[int, ModelUse]) -> list[Draw]:
    """Draw ``uses`` (model id → the day's consumption) from ``packs`` in burn order, on plain data.

    ``drawn_elsewhere``: pack id → (credit, tokens) drawn on other days; ``frozen``: pack id → this day's
    draw of a pack whose expiry was posted (kept as it is)."""
    left = {mid: _Left(u.cost, Decimal(u.tokens)) for mid, u in uses.items() if u.cost > 0 or u.tokens > 0}
    draws = []
    for pack in burn_order(packs):
        other_credit, other_tokens = drawn_elsewhere.get(pack.pk, (ZERO, 0))
        if pack.kind == Kind.TOKENS:
            available = frozen[pack.pk][1] if pack.pk in frozen else max(pack.tokens - other_tokens, 0)
            credit_drawn, tokens_drawn = _draw_tokens(left, available, pack.model_id)
        else:
            available = frozen[pack.pk][0] if pack.pk in frozen else max(pack.credit - other_credit, ZERO)
            credit_drawn, tokens_drawn = _draw_credit(left, available)
        draw = Draw(pack, credit_drawn, tokens_drawn)
        draw.adjustment = adjustment_of(pack, credit_drawn, tokens_drawn)
        draws.append(draw)
    return draws


def _posted_adjustments(account, packs, day: date) -> dict[int, tuple[Decimal, int]]:
    """Pack id → (adjustment posted so far for ``day``, how many postings)."""
    sources = {f"upstream.draw:{p.pk}:{day.isoformat()}": p.pk for p in packs}
    rows = (
        JournalEntry.objects.filter(account=account, transaction__source__in=list(sources))
        .values("transaction__source")
        .annotate(total=Sum("amount"), n=Count("transaction"))
        .order_by()
    )
    return {sources[r["transaction__source"]]: (r["total"], r["n"]) for r in rows}


def burn_day(*, channel: Channel, day: date) -> list[Draw]:
    """Draw ``channel``'s packs for ``day``'s consumption; store the draws, post the changes of value.

    Returns the day's draws (zero draws included, in burn order). Safe to re-run: only what changed is
    written or posted."""
    if channel.contract.settlement != Settlement.PREPAID:
        return []
    start, end = day_bounds(day)
    with transaction.atomic():
        Channel.objects.select_for_update().filter(pk=channel.pk).first()
        valid = Q(starts_at__lt=end) & (Q(expires_at__isnull=True) | Q(expires_at__gt=start))
        ids = set(UpstreamPack.objects.filter(valid, channel=channel).values_list("pk", flat=True))
        ids |= set(
            UpstreamDraw.objects.filter(pack__channel=channel, day=day).values_list("pack_id", flat=True)
        )
        packs = list(UpstreamPack.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if not packs:
            return []
        existing = {d.pack_id: d for d in UpstreamDraw.objects.filter(pack__in=packs, day=day)}
        elsewhere = {
            r["pack_id"]: (r["credit"], r["tokens"])
            for r in UpstreamDraw.objects.filter(pack__in=packs)
            .exclude(day=day)
            .values("pack_id")
            .annotate(credit=Sum("credit"), tokens=Sum("tokens"))
            .order_by()
        }
        frozen = {
            p.pk: (existing[p.pk].credit, existing[p.pk].tokens) if p.pk in existing else (ZERO, 0)
            for p in packs
            if p.expiry_transaction_id is not None
        }
        uses = daily_use([channel], day, day).get((channel.pk, day), {})
        draws = allocate(packs, elsewhere, frozen, uses)
        before = {pk: (d.credit, d.tokens) for pk, d in existing.items()}
        _store(draws, existing, day)
        _post(channel, draws, day, existing)
        for draw in draws:
            if draw.pack.pk in frozen and (draw.credit, draw.tokens) != before.get(draw.pack.pk, (ZERO, 0)):
                expiry_top_up(draw.pack)
    return draws


def _store(draws: list[Draw], existing: dict, day: date) -> None:
    for draw in draws:
        pack, before = draw.pack, existing.get(draw.pack.pk)
        old_credit, old_tokens = (before.credit, before.tokens) if before else (ZERO, 0)
        if (old_credit, old_tokens) == (draw.credit, draw.tokens):
            continue
        if before is None:
            existing[pack.pk] = UpstreamDraw.objects.create(
                pack=pack, day=day, credit=draw.credit, tokens=draw.tokens
            )
        else:
            before.credit, before.tokens = draw.credit, draw.tokens
            before.save(update_fields=["credit", "tokens"])
        UpstreamPack.objects.filter(pk=pack.pk).update(
            used_credit=F("used_credit") + (draw.credit - old_credit),
            used_tokens=F("used_tokens") + (draw.tokens - old_tokens),
        )


def _post(channel: Channel, draws: list[Draw], day: date, existing: dict) -> None:
    prepaid, cost = channel_account(channel, K.UPSTREAM_PREPAID), vendor_expense(channel)
    currency = channel.contract.currency
    posted = _posted_adjustments(prepaid, [d.pack for d in draws], day)
    for draw in draws:
        so_far, count = posted.get(draw.pack.pk, (ZERO, 0))
        change = draw.adjustment - so_far
        if not change:
            continue
        lines = (
            [debit(prepaid, change, currency), credit(cost, change, currency)]
            if change > 0
            else [credit(prepaid, -change, currency), debit(cost, -change, currency)]
        )
        txn = transaction_post(
            idempotency_key=f"upstream.draw:{draw.pack.pk}:{day.isoformat()}:{count + 1}",
            kind="upstream.pack.draw",
            lines=lines,
            memo=(
                f"{draw.pack} on {channel.name}, {day}: drew {draw.credit} at contract cost"
                + (f" ({draw.tokens} tokens)" if draw.pack.kind == Kind.TOKENS else "")
                + f"; value at the pack's price differs by {draw.adjustment}"
            ),
            memo_message=stored(
                "upstream.memo.pack_draw_tokens"
                if draw.pack.kind == Kind.TOKENS
                else "upstream.memo.pack_draw",
                pack=str(draw.pack),
                channel=channel.name,
                day=day_param(day),
                credit=money(draw.credit, currency),
                adjustment=money(draw.adjustment, currency),
                **({"tokens": f"{draw.tokens:,}"} if draw.pack.kind == Kind.TOKENS else {}),
            ),
            source=f"upstream.draw:{draw.pack.pk}:{day.isoformat()}",
            effective_date=day,
        )
        draw.posted.append(txn)
        row = existing.get(draw.pack.pk)
        if row is not None:
            row.transaction = txn
            row.save(update_fields=["transaction"])


def burn_run(*, day: date) -> dict[int, list[Draw]]:
    """Burn ``day`` on every prepaid channel that has packs; channel id → its draws."""
    with_packs = UpstreamPack.objects.values("channel_id")
    channels = Channel.objects.filter(contract__settlement=Settlement.PREPAID, pk__in=with_packs)
    return {
        channel.pk: burn_day(channel=channel, day=day)
        for channel in channels.select_related("contract__vendor").order_by("pk")
    }
