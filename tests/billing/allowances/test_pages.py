"""The staff and portal pages that sell packs and subscriptions, and who may use them."""

from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberRole, StaffRole
from billing.allowances.models import AllowanceCharge, PackPurchase, Subscription
from tests.billing.allowances.helpers import customer_on, deepseek_pack, fund, lite_plan, paid
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _staff(role: str):
    user = UserFactory(email=f"{role}@op.example.com", staff_role=role)
    if role in (StaffRole.FINANCE, StaffRole.ADMIN):
        TOTP.activate(user, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    return user


def _member(customer, role=MemberRole.OWNER, email="owner@acme.example.com"):
    return MembershipFactory(user=UserFactory(email=email), customer=customer, role=role).user


@pytest.fixture
def prepaid():
    customer = customer_on("prepaid")
    fund(customer, "500")
    return customer


def test_sales_sell_a_pack_and_the_page_shows_the_wallet_paid_it(client, prepaid):
    pack = deepseek_pack()
    client.force_login(_staff(StaffRole.SALES))
    page = client.get(reverse("staff-customer-allowances", args=[prepaid.pk]))
    assert page.status_code == 200
    assert "500.00 CNY" in page.content.decode()  # the paid credit the sale will be taken from
    key = page.context["sell_form"]["idempotency_key"].value()

    url = reverse("staff-customer-pack-sell", args=[prepaid.pk])
    client.post(url, {"pack": pack.pk, "idempotency_key": key})
    client.post(url, {"pack": pack.pk, "idempotency_key": key})  # sent twice

    assert PackPurchase.objects.get().charge.amount == Decimal("180.00")
    assert paid(prepaid) == Decimal("320")
    shown = client.get(reverse("staff-customer-allowances", args=[prepaid.pk])).content.decode()
    assert "DeepSeek 100M tokens" in shown


def test_a_short_balance_shows_the_refusal_on_the_page(client):
    customer = customer_on("prepaid")
    fund(customer, "10")
    pack = deepseek_pack()
    client.force_login(_staff(StaffRole.FINANCE))
    response = client.post(
        reverse("staff-customer-pack-sell", args=[customer.pk]),
        {"pack": pack.pk, "idempotency_key": "sale:x"},
        follow=True,
    )
    assert "Not enough paid credit" in response.content.decode()
    assert not PackPurchase.objects.exists()


def test_staff_start_and_end_a_subscription(client, prepaid):
    plan = lite_plan()
    client.force_login(_staff(StaffRole.ADMIN))
    client.post(
        reverse("staff-customer-subscription-start", args=[prepaid.pk]),
        {"plan": plan.pk, "starts_on": timezone.localdate().isoformat()},
    )
    sub = Subscription.objects.get()
    assert AllowanceCharge.objects.get().subscription == sub
    client.post(
        reverse("staff-customer-subscription-cancel", args=[prepaid.pk, sub.pk]),
        {"ends_on": timezone.localdate().isoformat()},
    )
    sub.refresh_from_db()
    assert sub.ends_on == timezone.localdate()
    assert sub.cancelled_by.staff_role == StaffRole.ADMIN


def test_a_bad_date_is_named_never_a_500(client, prepaid):
    client.force_login(_staff(StaffRole.SALES))
    response = client.post(
        reverse("staff-customer-subscription-start", args=[prepaid.pk]),
        {"plan": lite_plan().pk, "starts_on": "31/31/2026"},
        follow=True,
    )
    assert response.status_code == 200
    assert "Nothing was done" in response.content.decode()
    assert not Subscription.objects.exists()


@pytest.mark.parametrize("role", [StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_staff_without_selling_rights_read_but_cannot_sell(client, prepaid, role):
    pack = deepseek_pack()
    client.force_login(_staff(role))
    page = client.get(reverse("staff-customer-allowances", args=[prepaid.pk]))
    assert page.status_code == 200
    assert "sell_form" not in page.context
    response = client.post(
        reverse("staff-customer-pack-sell", args=[prepaid.pk]), {"pack": pack.pk, "idempotency_key": "k"}
    )
    assert response.status_code == 403
    assert not PackPurchase.objects.exists()


def test_a_portal_owner_buys_from_the_wallet(client, prepaid):
    pack, plan = deepseek_pack(), lite_plan()
    client.force_login(_member(prepaid))
    page = client.get(reverse("portal-allowances"))
    assert page.status_code == 200
    assert "DeepSeek 100M tokens" in page.content.decode()
    client.post(reverse("portal-allowances-buy"), {"pack": pack.pk, "idempotency_key": "portal:1:pack"})
    client.post(reverse("portal-allowances-buy"), {"pack": pack.pk, "idempotency_key": "portal:1:pack"})
    client.post(reverse("portal-allowances-buy"), {"plan": plan.pk})
    assert paid(prepaid) == Decimal("280")
    assert PackPurchase.objects.count() == 1
    assert Subscription.objects.get().customer == prepaid


def test_a_credit_customer_buying_from_its_wallet_is_not_invoiced_again(client):
    from billing.invoicing.close.measure import billed_keys

    customer = customer_on("monthly")
    fund(customer, "500")
    client.force_login(_member(customer))
    client.post(reverse("portal-allowances-buy"), {"pack": deepseek_pack().pk, "idempotency_key": "p"})
    purchase = PackPurchase.objects.get()
    assert paid(customer) == Decimal("320")
    assert billed_keys([customer.pk], {f"pack:{purchase.pk}"}) == {f"pack:{purchase.pk}"}


def test_a_portal_viewer_cannot_buy(client, prepaid):
    pack = deepseek_pack()
    client.force_login(_member(prepaid, role=MemberRole.VIEWER, email="viewer@acme.example.com"))
    assert "buy-wallet" not in client.get(reverse("portal-allowances")).content.decode()
    response = client.post(reverse("portal-allowances-buy"), {"pack": pack.pk})
    assert response.status_code == 403
    assert not PackPurchase.objects.exists()


def test_another_customers_portal_user_cannot_see_or_sell_for_this_one(client, prepaid):
    pack = deepseek_pack()
    other = customer_on("prepaid", name="Other Co")
    fund(other, "500")
    client.force_login(_member(other, email="owner@other.example.com"))
    assert client.get(reverse("staff-customer-allowances", args=[prepaid.pk])).status_code == 403
    response = client.post(
        reverse("staff-customer-pack-sell", args=[prepaid.pk]), {"pack": pack.pk, "idempotency_key": "k"}
    )
    assert response.status_code == 403
    # The portal buys for the user's own organisation only, whatever the form says.
    client.post(reverse("portal-allowances-buy"), {"pack": pack.pk, "customer": prepaid.pk})
    assert list(PackPurchase.objects.values_list("customer", flat=True)) == [other.pk]
    assert paid(prepaid) == Decimal("500")


def test_an_item_in_another_currency_is_refused_in_the_portal(client, prepaid):
    from catalog.models import Pack

    usd = Pack.objects.create(
        name="USD pack", allowance=1000, price=Decimal("5"), currency="USD", validity_days=30
    )
    client.force_login(_member(prepaid))
    response = client.post(reverse("portal-allowances-buy"), {"pack": usd.pk}, follow=True)
    assert "not sold in your currency" in response.content.decode()
    assert not PackPurchase.objects.exists()


def test_both_pages_speak_chinese(client, prepaid):
    deepseek_pack()
    client.force_login(_member(prepaid))
    portal = client.get(reverse("portal-allowances"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "资源包与套餐" in portal
    assert "从钱包支付" in portal
    assert "钱包中的已付余额：500.00 CNY" in portal
    client.force_login(_staff(StaffRole.SALES))
    staff = client.get(
        reverse("staff-customer-allowances", args=[prepaid.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()
    assert "出售资源包" in staff
    assert "开始订阅" in staff
