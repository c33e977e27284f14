"""A pack or plan bought by card in the portal: a Checkout for its price, bought once when paid."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberRole
from billing.allowances.models import AllowanceCharge, CardOrder, PackPurchase, Subscription
from billing.allowances.purchases import subscription_start
from billing.payments.models import CardTopUp
from tests.billing.allowances.helpers import customer_on, deepseek_pack, fund, lite_plan, paid, pro_plan
from tests.billing.payments.stripe_fakes import event_for, post_event
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return customer_on("prepaid")


@pytest.fixture
def owner(client, customer):
    user = MembershipFactory(
        user=UserFactory(email="owner@acme.example.com"), customer=customer, role=MemberRole.OWNER
    ).user
    client.force_login(user)
    return user


def _buy_by_card(client, **item) -> CardTopUp:
    response = client.post(reverse("portal-allowances-buy-card"), item)
    topup = CardTopUp.objects.get()
    assert response.status_code == 302
    assert response["Location"] == topup.checkout_url
    return topup


def test_a_pack_paid_by_card_is_bought_once_however_often_stripe_says_so(
    client, customer, owner, stripe_http
):
    pack = deepseek_pack()
    topup = _buy_by_card(client, pack=pack.pk)

    # Stripe's page names the pack and asks its price (plus the card fee the settings pass on)
    sent = stripe_http.requests[0]["params"]
    assert sent["line_items[0][price_data][product_data][name]"] == "DeepSeek 100M tokens"
    assert sent["line_items[0][price_data][unit_amount]"] == "18000"
    assert CardOrder.objects.get().status == CardOrder.Status.OPEN
    assert not PackPurchase.objects.exists()

    # when the paid webhook arrives, again, and as the payment intent's own event
    completed = event_for("event_checkout_session_completed", topup)
    for payload in (completed, completed, event_for("event_payment_intent_succeeded", topup)):
        assert post_event(client, payload).status_code == 200

    # then the pack was bought once, paid by the card money that went through the wallet
    order = CardOrder.objects.get()
    assert order.status == CardOrder.Status.DONE
    purchase = PackPurchase.objects.get()
    assert order.pack_purchase == purchase
    assert purchase.charge.amount == Decimal("180.00")
    assert paid(customer) == Decimal("0")


def test_a_plan_paid_by_card_starts_and_its_first_month_is_paid(client, customer, owner, stripe_http):
    topup = _buy_by_card(client, plan=pro_plan().pk)
    post_event(client, event_for("event_checkout_session_completed", topup))
    post_event(client, event_for("event_checkout_session_completed", topup, event_id="evt_again_1"))
    sub = Subscription.objects.get()
    assert [c.subscription_id for c in AllowanceCharge.objects.all()] == [sub.pk]
    assert CardOrder.objects.get().subscription == sub
    assert paid(customer) == Decimal("0")


def test_a_card_order_that_cannot_be_bought_leaves_the_money_in_the_wallet(
    client, customer, owner, stripe_http
):
    plan = pro_plan()
    topup = _buy_by_card(client, plan=plan.pk)
    # staff started the same plan meanwhile: the card payment cannot start it a second time
    fund(customer, "200")
    subscription_start(customer=customer, plan=plan, starts_on=timezone.localdate(), actor=None)

    post_event(client, event_for("event_checkout_session_completed", topup))

    order = CardOrder.objects.get()
    assert order.status == CardOrder.Status.FAILED
    assert "already has Coding plan Pro" in order.error
    assert paid(customer) == Decimal("200")  # staff's start took 200; the card's 200 stays as paid credit


def test_a_plan_under_the_card_minimum_is_refused_before_stripe(client, customer, owner, stripe_http):
    response = client.post(reverse("portal-allowances-buy-card"), {"plan": lite_plan().pk}, follow=True)
    assert "must be between 50 and 50000" in response.content.decode()
    assert not CardOrder.objects.exists()
    assert stripe_http.requests == []


def test_a_viewer_cannot_start_a_card_payment(client, customer, stripe_http):
    viewer = MembershipFactory(
        user=UserFactory(email="viewer@acme.example.com"), customer=customer, role=MemberRole.VIEWER
    ).user
    client.force_login(viewer)
    response = client.post(reverse("portal-allowances-buy-card"), {"pack": deepseek_pack().pk})
    assert response.status_code == 403
    assert not CardOrder.objects.exists()
    assert stripe_http.requests == []
