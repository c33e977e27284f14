"""Burn: earliest expiry first, token packs by their model, value corrected to what we paid, re-runs."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.ledger.models import AccountKind, JournalEntry, JournalTransaction
from billing.ledger.verify import ledger_problems
from billing.upstream.burn import burn_day, burn_run
from billing.upstream.ledger_accounts import channel_account
from billing.upstream.models import UpstreamDraw
from tests.billing.upstream.ledger.conftest import buy
from tests.billing.usage.factories import priced_model

pytestmark = pytest.mark.django_db
K = AccountKind
DAY = date(2026, 2, 1)


def drawn(pack, day=DAY):
    row = UpstreamDraw.objects.filter(pack=pack, day=day).first()
    return (row.credit, row.tokens) if row else (Decimal(0), 0)


def adjustments(channel, kind="upstream.pack.draw"):
    """What draw adjustments moved on the channel's prepaid asset (debit positive)."""
    account = channel_account(channel, K.UPSTREAM_PREPAID)
    total = JournalEntry.objects.filter(account=account, transaction__kind=kind).aggregate(s=Sum("amount"))
    return total["s"] or Decimal(0)


def test_the_pack_expiring_first_is_drawn_first_then_the_next(channel, usage):
    # given: a never-expiring prepayment bought first, and a pack expiring sooner bought later
    top_up = buy(channel, "TOPUP-1", "100", kind="prepayment")
    early = buy(channel, "PACK-EARLY", "2", credit="2", expires=date(2026, 2, 15), bought=date(2026, 1, 10))
    usage(DAY, 1000)  # 3.000 at contract cost

    burn_day(channel=channel, day=DAY)

    assert drawn(early) == (Decimal("2"), 1_000_000)  # all of it: it expires first
    assert drawn(top_up) == (Decimal("1"), 500_000)  # the rest
    early.refresh_from_db()
    assert early.used_credit == Decimal("2")


def test_an_expired_pack_and_a_pack_not_yet_valid_are_not_drawn(channel, usage):
    gone = buy(channel, "OLD", "5", credit="5", expires=date(2026, 1, 31))
    later = buy(channel, "LATER", "5", credit="5", bought=date(2026, 2, 2))
    current = buy(channel, "NOW", "5", credit="5", expires=date(2026, 3, 1))
    usage(DAY, 1000)

    burn_day(channel=channel, day=DAY)

    assert drawn(gone) == drawn(later) == (Decimal(0), 0)
    assert drawn(current)[0] == Decimal("3")


def test_token_pack_draws_only_its_models_tokens(channel, usage):
    priced_model("glm-4")  # same prices: 1,000 prompt + 500 completion tokens cost 0.003
    glm_pack = buy(
        channel,
        "GLM-TOKENS",
        "10",
        kind="tokens",
        tokens=1_000_000,
        model=priced_model("glm-5"),
        expires=date(2026, 2, 10),
    )
    any_pack = buy(channel, "ANY", "50", credit="50", expires=date(2026, 6, 1))
    usage(DAY, 1000, model_name="glm-4")  # another model: 1.5M tokens, 3.000

    burn_day(channel=channel, day=DAY)

    assert drawn(glm_pack) == (Decimal(0), 0)
    assert drawn(any_pack) == (Decimal("3"), 1_500_000)


def test_token_pack_values_its_tokens_at_its_price(channel, usage, model):
    pack = buy(
        channel, "DS-TOKENS", "10", kind="tokens", tokens=1_000_000, model=model, expires=date(2026, 3, 1)
    )
    rest = buy(channel, "TOPUP", "100", kind="prepayment")
    usage(DAY, 1000)  # 1.5M deepseek-chat tokens at 3.000

    burn_day(channel=channel, day=DAY)

    # the pack's million tokens cost 2.000 at contract cost; we paid 10 for them
    assert drawn(pack) == (Decimal("2"), 1_000_000)
    assert drawn(rest) == (Decimal("1"), 500_000)
    assert adjustments(channel) == Decimal("-8")  # Cr prepaid / Dr cost: cost ends at what we paid
    pack.refresh_from_db()
    assert pack.used_tokens == 1_000_000


def test_credit_above_price_lowers_cost_to_what_we_paid(channel, usage):
    # an amount pack: paid 8 for 10 of credit at contract cost
    pack = buy(channel, "PROMO", "8", credit="10", expires=date(2026, 3, 1))
    usage(DAY, 1000)

    burn_day(channel=channel, day=DAY)

    assert drawn(pack)[0] == Decimal("3")
    assert adjustments(channel) == Decimal("0.6")  # 3 × (1 − 8/10): Dr prepaid / Cr cost of tokens
    txn = JournalTransaction.objects.get(kind="upstream.pack.draw")
    cost_leg = txn.entries.get(account__kind=K.COST_OF_TOKENS)
    assert cost_leg.amount == Decimal("-0.6")
    assert ledger_problems() == []


def test_rerunning_a_day_after_late_usage_posts_only_the_change(channel, usage):
    pack = buy(channel, "PROMO", "8", credit="10", expires=date(2026, 3, 1))
    usage(DAY, 1000)
    burn_day(channel=channel, day=DAY)
    first = JournalTransaction.objects.get(kind="upstream.pack.draw")

    burn_day(channel=channel, day=DAY)  # nothing new: nothing posted
    assert JournalTransaction.objects.filter(kind="upstream.pack.draw").count() == 1

    usage(DAY, 500)  # late usage for the same day: 1.500 more
    burn_day(channel=channel, day=DAY)

    assert drawn(pack)[0] == Decimal("4.5")
    posted = JournalTransaction.objects.filter(kind="upstream.pack.draw").order_by("pk")
    assert posted.first().pk == first.pk
    assert posted.count() == 2
    change = posted.last().entries.get(account__kind=K.UPSTREAM_PREPAID).amount
    assert change == Decimal("0.3")  # 1.5 × 0.2, only the difference
    assert adjustments(channel) == Decimal("0.9")
    assert UpstreamDraw.objects.filter(pack=pack).count() == 1
    pack.refresh_from_db()
    assert pack.used_credit == Decimal("4.5")


def test_a_later_day_draws_what_the_earlier_days_left(channel, usage):
    pack = buy(channel, "SMALL", "4", credit="4", expires=date(2026, 3, 1))
    top_up = buy(channel, "TOPUP", "100", kind="prepayment")
    usage(DAY, 1000)
    usage(date(2026, 2, 2), 1000)

    burn_run(day=DAY)
    burn_run(day=date(2026, 2, 2))

    assert drawn(pack, DAY)[0] == Decimal("3")
    assert drawn(pack, date(2026, 2, 2))[0] == Decimal("1")
    assert drawn(top_up, date(2026, 2, 2))[0] == Decimal("2")
