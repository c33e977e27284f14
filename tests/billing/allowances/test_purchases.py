"""Packs and subscriptions are paid on prepaid and credit terms alike, each month and pack exactly once."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.allowances.card_orders import card_order_create
from billing.allowances.charges import charges_due, wallet_charge
from billing.allowances.exceptions import PurchaseError
from billing.allowances.models import AllowanceCharge, PackPurchase, Subscription
from billing.allowances.purchases import pack_sell, subscription_cancel, subscription_start
from billing.allowances.tasks import allowance_charges_due_task
from billing.invoicing.close.services import close_period
from billing.invoicing.models import Invoice, InvoiceLine
from billing.ledger.accounts import account_get
from billing.ledger.models import AccountKind, JournalTransaction
from billing.wallets.credits import wallet_credit
from billing.wallets.models import BalanceSuspension, Wallet
from billing.wallets.selectors import wallet_balance
from tests.billing.allowances.helpers import (
    clock,
    credit_pack,
    customer_on,
    deepseek_pack,
    fund,
    lite_plan,
    local,
    paid,
    switch,
    wallet_charged,
)

pytestmark = pytest.mark.django_db


def _subscription_lines(customer):
    return list(
        InvoiceLine.objects.filter(invoice__customer=customer, kind__in=["subscription", "pack"])
        .order_by("source_key")
        .values_list("source_key", "amount")
    )


def test_the_audit_figure_a_prepaid_customer_pays_220_once(django_user_model):
    # given a prepaid customer with 500 CNY of paid credit
    customer = customer_on("prepaid")
    fund(customer, "500")
    plan, pack = lite_plan(), deepseek_pack()

    # when staff start the Lite plan (40) and sell the DeepSeek pack (180) on 10 November
    with clock(local(2026, 11, 10, 15)):
        sub = subscription_start(customer=customer, plan=plan, starts_on=date(2026, 11, 10), actor=None)
        purchase = pack_sell(customer=customer, pack=pack, actor=None, idempotency_key="sale-1")
        # and the sale is sent again, and the hourly beat runs twice
        again = pack_sell(customer=customer, pack=pack, actor=None, idempotency_key="sale-1")
        assert charges_due() == 0
        assert charges_due() == 0
    with clock(local(2026, 11, 30, 23)):
        assert charges_due() == 0
    close_period("2026-11", issue_date=date(2026, 12, 1))
    close_period("2026-11", issue_date=date(2026, 12, 1))

    # then 220 was charged to the wallet, once, and no invoice bills any of it
    assert again == purchase
    assert wallet_charged(customer) == Decimal("220.00")
    assert paid(customer) == Decimal("280")
    assert sorted(AllowanceCharge.objects.values_list("source_key", "amount")) == [
        (f"pack:{purchase.pk}", Decimal("180.00")),
        (f"subscription:{sub.pk}:2026-11", Decimal("40.00")),
    ]
    assert not Invoice.objects.filter(customer=customer).exists()

    # and December's fee is charged when December starts, once
    with clock(local(2026, 12, 1, 0, 30)):
        assert charges_due() == 1
        assert charges_due() == 0
    assert wallet_charged(customer) == Decimal("260.00")


def test_a_credit_customer_is_still_invoiced_once_and_its_wallet_untouched():
    customer = customer_on("monthly")
    fund(customer, "500")
    with clock(local(2026, 11, 10, 15)):
        sub = subscription_start(
            customer=customer, plan=lite_plan(), starts_on=date(2026, 11, 10), actor=None
        )
        purchase = pack_sell(customer=customer, pack=deepseek_pack(), actor=None, idempotency_key="sale-c")
        assert charges_due() == 0

    close_period("2026-11", issue_date=date(2026, 12, 1))
    close_period("2026-11", issue_date=date(2026, 12, 1))

    assert paid(customer) == Decimal("500")
    assert not AllowanceCharge.objects.exists()
    assert _subscription_lines(customer) == [
        (f"pack:{purchase.pk}", Decimal("180.00")),
        (f"subscription:{sub.pk}:2026-11", Decimal("40.00")),
    ]
    assert Invoice.objects.get(customer=customer).total == Decimal("220.00")


def test_switching_prepaid_to_credit_and_back_charges_every_month_once():
    customer = customer_on("prepaid")
    fund(customer, "500")
    with clock(local(2026, 10, 5, 12)):
        sub = subscription_start(customer=customer, plan=lite_plan(), starts_on=date(2026, 10, 1), actor=None)
    switch(customer, "monthly", local(2026, 10, 20, 12))
    close_period("2026-10", issue_date=date(2026, 11, 1))  # October began prepaid: the wallet paid it
    with clock(local(2026, 11, 1, 0, 30)):
        assert charges_due() == 0  # November begins on credit: the invoice will bill it
    close_period("2026-11", issue_date=date(2026, 12, 1))
    switch(customer, "prepaid", local(2026, 12, 3, 12))
    with clock(local(2026, 12, 5, 12)):
        assert charges_due() == 0  # December began on credit
    close_period("2026-12", issue_date=date(2027, 1, 1))
    with clock(local(2027, 1, 1, 0, 30)):
        assert charges_due() == 1  # January begins prepaid
        assert charges_due() == 0
    close_period("2027-01", issue_date=date(2027, 2, 1))

    assert sorted(AllowanceCharge.objects.values_list("source_key", flat=True)) == [
        f"subscription:{sub.pk}:2026-10",
        f"subscription:{sub.pk}:2027-01",
    ]
    assert _subscription_lines(customer) == [
        (f"subscription:{sub.pk}:2026-11", Decimal("40.00")),
        (f"subscription:{sub.pk}:2026-12", Decimal("40.00")),
    ]
    assert paid(customer) == Decimal("420")


def test_a_pack_sold_while_prepaid_is_not_invoiced_after_a_switch_to_credit():
    customer = customer_on("prepaid")
    fund(customer, "500")
    with clock(local(2026, 11, 3, 12)):
        purchase = pack_sell(customer=customer, pack=deepseek_pack(), actor=None, idempotency_key="s")
    switch(customer, "monthly", local(2026, 11, 10, 12))
    close_period("2026-11", issue_date=date(2026, 12, 1))
    assert purchase.charge.amount == Decimal("180.00")
    assert not InvoiceLine.objects.filter(source_key=f"pack:{purchase.pk}").exists()


def test_a_pack_is_refused_when_paid_credit_is_short_and_nothing_is_written():
    customer = customer_on("prepaid")
    fund(customer, "100")
    with pytest.raises(PurchaseError, match=r"Not enough paid credit: 100\.00 CNY"):
        pack_sell(customer=customer, pack=deepseek_pack(), actor=None, idempotency_key="short")
    assert not PackPurchase.objects.exists()
    assert not JournalTransaction.objects.filter(kind="wallet.pack").exists()
    assert paid(customer) == Decimal("100")


def test_a_subscription_start_is_refused_when_the_first_month_cannot_be_paid():
    customer = customer_on("prepaid")
    with pytest.raises(PurchaseError, match="Not enough paid credit"):
        subscription_start(customer=customer, plan=lite_plan(), starts_on=timezone.localdate(), actor=None)
    assert not Subscription.objects.exists()


def test_a_renewal_is_charged_below_the_floor_and_suspends_the_wallet():
    customer = customer_on("prepaid")
    fund(customer, "50")
    with clock(local(2026, 11, 10, 12)):
        subscription_start(customer=customer, plan=lite_plan(), starts_on=date(2026, 11, 10), actor=None)
    with clock(local(2026, 12, 1, 0, 30)):
        assert charges_due() == 1
    assert paid(customer) == Decimal("-30")
    assert BalanceSuspension.objects.filter(customer=customer, ended_at__isnull=True).exists()


def test_granted_credit_never_pays_for_a_purchase():
    customer = customer_on("prepaid")
    wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal("500"),
        bucket="granted",
        idempotency_key="g",
        source_account=account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency="CNY"),
        kind="wallet.grant",
        memo="welcome",
    )
    with pytest.raises(PurchaseError, match="Not enough paid credit"):
        pack_sell(customer=customer, pack=deepseek_pack(), actor=None, idempotency_key="g1")


def test_the_same_key_with_another_amount_or_pack_is_refused():
    customer = customer_on("prepaid")
    fund(customer, "1000")
    pack = deepseek_pack()
    purchase = pack_sell(customer=customer, pack=pack, actor=None, idempotency_key="k")
    with pytest.raises(PurchaseError, match=r"already charged 180\.00 CNY"):
        wallet_charge(
            customer=customer,
            currency="CNY",
            amount=Decimal("170"),
            source_key=f"pack:{purchase.pk}",
            kind="wallet.pack",
            memo="again",
            pack_purchase=purchase,
            stop_at_floor=True,
        )
    other = credit_pack()
    with pytest.raises(PurchaseError, match="already made for Acme Agents"):
        pack_sell(customer=customer, pack=other, actor=None, idempotency_key="k")
    assert paid(customer) == Decimal("820")


def test_a_credit_pack_moves_paid_credit_into_the_pack_bucket():
    customer = customer_on("prepaid")
    fund(customer, "1000")
    pack_sell(customer=customer, pack=credit_pack(), actor=None, idempotency_key="cp")
    balance = wallet_balance(wallet=Wallet.objects.get(customer=customer))
    assert (balance.paid, balance.pack) == (Decimal("0"), Decimal("1050"))
    # No revenue until the credit pays for usage; the 50 given beyond the price is the promotion's cost.
    assert account_get(kind=AccountKind.REVENUE_SUBSCRIPTIONS, currency="CNY").balance == 0
    assert account_get(kind=AccountKind.PROMOTIONAL_CREDIT, currency="CNY").balance == Decimal("50")


def test_a_credit_pack_is_refused_on_credit_terms():
    customer = customer_on("monthly")
    with pytest.raises(PurchaseError, match="on credit terms"):
        pack_sell(customer=customer, pack=credit_pack(), actor=None, idempotency_key="x")


def test_a_cancelled_subscription_is_charged_no_month_after_its_end():
    customer = customer_on("prepaid")
    fund(customer, "500")
    with clock(local(2026, 11, 10, 12)):
        sub = subscription_start(
            customer=customer, plan=lite_plan(), starts_on=date(2026, 11, 10), actor=None
        )
        with pytest.raises(PurchaseError, match="ends_on"):
            subscription_cancel(subscription=sub, ends_on=date(2026, 11, 9), actor=None)
        subscription_cancel(subscription=sub, ends_on=date(2026, 11, 30), actor=None)
    with clock(local(2026, 12, 1, 0, 30)):
        assert charges_due() == 0
    assert wallet_charged(customer) == Decimal("40.00")


def test_a_second_subscription_to_the_same_plan_is_refused():
    customer = customer_on("monthly")
    plan = lite_plan()
    subscription_start(customer=customer, plan=plan, starts_on=timezone.localdate(), actor=None)
    with pytest.raises(PurchaseError, match="already has Coding plan Lite"):
        subscription_start(customer=customer, plan=plan, starts_on=timezone.localdate(), actor=None)


def test_the_hourly_beat_task_charges_a_month_that_started():
    customer = customer_on("prepaid")
    fund(customer, "100")
    with clock(local(2026, 11, 10, 12)):
        subscription_start(customer=customer, plan=lite_plan(), starts_on=date(2026, 11, 10), actor=None)
    with clock(local(2026, 12, 1, 1)):
        assert allowance_charges_due_task() == 1
        assert allowance_charges_due_task() == 0
    assert paid(customer) == Decimal("20")


def test_a_pack_recorded_without_its_charge_is_charged_by_the_beat():
    # e.g. entered in the admin site: the wallet still pays it, once
    customer = customer_on("prepaid")
    fund(customer, "500")
    now = timezone.now()
    PackPurchase.objects.create(
        customer=customer,
        pack=deepseek_pack(),
        purchased_at=now,
        expires_at=now + timedelta(days=90),
        price=Decimal("180"),
        currency="CNY",
        idempotency_key="admin-1",
    )
    assert charges_due() == 1
    assert charges_due() == 0
    assert paid(customer) == Decimal("320")


def test_a_credit_pack_cannot_be_ordered_by_card_on_credit_terms():
    customer = customer_on("monthly")
    with pytest.raises(PurchaseError, match="on credit terms"):
        card_order_create(customer=customer, user=None, pack=credit_pack())
