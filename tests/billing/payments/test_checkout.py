"""Starting a card top-up: amount rules, the Checkout Session request, and Stripe's redirect."""

from decimal import Decimal

import pytest

from billing.payments.amounts import card_fee, card_quote
from billing.payments.models import CardTopUp
from billing.stripe.api import STRIPE_API_VERSION
from tests.billing.payments.helpers import topup_postings

pytestmark = pytest.mark.django_db


def test_a_preset_amount_opens_a_checkout_session_and_redirects_to_stripe(client, owner, stripe_http):
    # given
    client.force_login(owner)

    # when
    response = client.post("/portal/wallet/top-up/", {"preset": "500", "currency": "CNY"})

    # then the customer is sent to the URL Stripe returned
    topup = CardTopUp.objects.get()
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    assert topup.checkout_url == response["Location"]
    assert (topup.amount, topup.fee, topup.charged, topup.status) == (
        Decimal("500"),
        Decimal("14.50"),
        Decimal("514.50"),
        CardTopUp.Status.OPEN,
    )
    # and Stripe was asked, once, with minor units, the pinned version and an idempotency key
    (sent,) = stripe_http.requests
    assert sent["url"] == "https://api.stripe.com/v1/checkout/sessions"
    assert sent["headers"]["Stripe-Version"] == STRIPE_API_VERSION
    assert sent["headers"]["Idempotency-Key"] == f"topup-checkout:{topup.public_id}"
    params = sent["params"]
    assert params["mode"] == "payment"
    assert params["line_items[0][price_data][unit_amount]"] == "50000"
    assert params["line_items[1][price_data][unit_amount]"] == "1450"
    assert params["line_items[0][price_data][currency]"] == "cny"
    assert params["metadata[topup]"] == params["payment_intent_data[metadata][topup]"] == str(topup.public_id)
    assert (
        params["success_url"]
        == "http://testserver/portal/wallet/top-up/success/?session_id={CHECKOUT_SESSION_ID}"
    )
    # and nothing is credited before Stripe says it was paid
    assert not topup_postings().exists()


def test_a_custom_amount_wins_over_a_preset(client, owner, stripe_http):
    client.force_login(owner)
    client.post("/portal/wallet/top-up/", {"preset": "500", "amount": "123.45", "currency": "CNY"})
    assert CardTopUp.objects.get().amount == Decimal("123.45")


def test_an_absorbed_fee_is_not_charged_to_the_customer(client, owner, stripe_http, settings):
    settings.TOPUP_CARD_FEE_MODE = "absorb"
    client.force_login(owner)
    client.post("/portal/wallet/top-up/", {"amount": "1000", "currency": "CNY"})
    topup = CardTopUp.objects.get()
    assert (topup.charged, topup.fee) == (Decimal("1000"), Decimal("29.00"))
    params = stripe_http.requests[0]["params"]
    assert params["line_items[0][price_data][unit_amount]"] == "100000"
    assert "line_items[1][price_data][unit_amount]" not in params


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "49.99", "currency": "CNY"}, "must be between 50 and 50000"),
        ({"amount": "50000.01", "currency": "CNY"}, "must be between 50 and 50000"),
        ({"amount": "100.001", "currency": "CNY"}, "at most 2 decimal places"),
        ({"amount": "100", "currency": "USD"}, "Your account is billed in CNY"),
        ({"amount": "100", "currency": "EUR"}, "not available in EUR"),
        ({"amount": "", "currency": "CNY"}, "Choose an amount or enter one"),
        ({"amount": "-5", "currency": "CNY"}, "greater than or equal to 0.01"),
        ({"amount": "abc", "currency": "CNY"}, "Enter a number"),
    ],
)
def test_bad_amounts_and_currencies_get_a_clear_message_and_write_nothing(
    client, owner, stripe_http, data, message
):
    client.force_login(owner)

    response = client.post("/portal/wallet/top-up/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CardTopUp.objects.exists()
    assert stripe_http.requests == []


def test_a_stripe_error_leaves_nothing_behind(client, owner, stripe_http):
    client.force_login(owner)
    stripe_http.fail_with = (400, "checkout_session_error_currency")

    response = client.post("/portal/wallet/top-up/", {"amount": "100", "currency": "CNY"})

    assert response.status_code == 400
    assert "did not answer" in response.content.decode()
    assert not CardTopUp.objects.exists()


def test_without_stripe_keys_the_portal_says_cards_are_unavailable(client, owner, stripe_http, settings):
    settings.STRIPE_ENABLED = False
    client.force_login(owner)

    page = client.get("/portal/wallet/top-up/")
    posted = client.post("/portal/wallet/top-up/", {"amount": "100", "currency": "CNY"}, follow=True)

    assert "Card payments are not available" in page.content.decode()
    assert 'data-testid="card-form"' not in page.content.decode()
    assert "Card payments are not available" in posted.content.decode()
    assert not CardTopUp.objects.exists()
    assert stripe_http.requests == []


def test_viewers_cannot_top_up(client, customer, stripe_http):
    from accounts.models import MemberRole
    from tests.factories import MembershipFactory

    viewer = MembershipFactory(customer=customer, role=MemberRole.VIEWER).user
    client.force_login(viewer)

    assert client.post("/portal/wallet/top-up/", {"amount": "100", "currency": "CNY"}).status_code == 403
    assert not CardTopUp.objects.exists()


def test_staff_cannot_use_the_portal_top_up(client, finance, stripe_http):
    client.force_login(finance)
    assert client.post("/portal/wallet/top-up/", {"amount": "100", "currency": "CNY"}).status_code == 403


def test_fee_is_percentage_plus_fixed_rounded_once(settings):
    settings.TOPUP_CARD_FEE_FIXED = {"USD": "0.30", "CNY": "0"}
    assert card_fee(amount=Decimal("10"), currency="USD") == Decimal("0.59")
    assert card_fee(amount=Decimal("33.33"), currency="CNY") == Decimal("0.97")  # 0.96657 → 0.97
    assert card_quote(amount=Decimal("10"), currency="usd").charged == Decimal("10.59")


def test_the_success_page_shows_only_ones_own_top_up(client, owner, other_customer_owner, stripe_http):
    client.force_login(owner)
    client.post("/portal/wallet/top-up/", {"amount": "100", "currency": "CNY"})
    session_id = CardTopUp.objects.get().stripe_session_id

    assert client.get(f"/portal/wallet/top-up/success/?session_id={session_id}").status_code == 200
    client.force_login(other_customer_owner)
    assert client.get(f"/portal/wallet/top-up/success/?session_id={session_id}").status_code == 404
    assert client.get(f"/portal/wallet/top-up/cancel/?session_id={session_id}").status_code == 404
    assert "100" not in client.get("/portal/wallet/top-up/").context["card_topups"].__str__()
    assert list(client.get("/portal/wallet/top-up/").context["card_topups"]) == []
