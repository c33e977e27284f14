"""The wallet limit on the staff pages: who may set it, what the page explains, the overshoot list."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.models import FloorOvershoot, Wallet
from billing.wallets.status import wallet_settings_update
from tests.billing.factories import staff, topup
from tests.billing.wallets.hard_limit_helpers import prepaid_customer, usage_charge, usage_setup
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _customer(**kwargs):
    customer = CustomerFactory(**kwargs)
    BillingTermsFactory(customer=customer, currency="CNY")
    return customer


def _settings_post(client, customer, follow=False, **data):
    payload = {"currency": "CNY", "floor": "-50", "limit_mode": "hard", "reserve_minutes": "15"}
    payload.update(data)
    return client.post(reverse("staff-customer-wallet-settings", args=[customer.pk]), payload, follow=follow)


@pytest.fixture
def source():
    return usage_setup()


def _overshoot(source, name):
    """A hard-limit wallet at −50 that in-flight usage took to −84.496 (the audit's figures)."""
    customer = prepaid_customer(f"key-{name}", name=name)
    wallet = wallet_get_or_create(customer=customer, currency="CNY")
    wallet_settings_update(
        wallet=wallet, floor=Decimal("-50"), low_balance_threshold=None, limit_mode="hard", reserve_minutes=15
    )
    topup(customer, "100", f"t1:{customer.pk}")
    for request, amount in (("r1", "60"), ("r2", "60"), ("r3", "64.496")):
        usage_charge(source, customer, amount, f"{request}:{name}")
    return FloorOvershoot.objects.get(customer=customer)


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE])
def test_finance_and_admin_set_the_hard_limit_and_the_page_explains_it(client, role):
    customer = _customer()
    client.force_login(staff(role))

    response = _settings_post(client, customer)

    assert response.status_code == 302
    wallet = Wallet.objects.get(customer=customer)
    assert (wallet.limit_mode, wallet.reserve_minutes, wallet.floor) == ("hard", 15, Decimal("-50"))
    page = client.get(reverse("staff-customer-wallet", args=[customer.pk])).content.decode()
    assert 'data-testid="wallet-limit-help"' in page and "reserve minutes ÷ 60" in page
    assert 'data-testid="wallet-reserve"' in page  # the live reserve of a hard wallet
    url = reverse("staff-customer-wallet", args=[customer.pk])
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert (
        "预留额 = 过去 60 分钟内计入本钱包的用量" in chinese and "硬限制：预留近期消耗，提前暂停" in chinese
    )
    assert "过去一小时计费" in chinese


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT, StaffRole.AUDITOR])
def test_other_roles_cannot_set_the_limit_nor_see_the_form(client, role):
    customer = _customer()
    client.force_login(staff(role))

    denied = _settings_post(client, customer)

    assert denied.status_code == 403
    assert not Wallet.objects.filter(customer=customer, limit_mode="hard").exists()
    page = client.get(reverse("staff-customer-wallet", args=[customer.pk]))
    assert page.status_code == 200 and b"wallet-settings-form" not in page.content  # they read, never set
    assert b"wallet-reserve" not in page.content  # a soft wallet holds no reserve


def test_a_customer_user_cannot_set_the_limit(client):
    customer = _customer()
    client.force_login(MembershipFactory(customer=customer).user)

    assert _settings_post(client, customer).status_code == 403
    assert client.get(reverse("staff-floor-overshoots")).status_code == 403


def test_a_reserve_beyond_a_day_is_a_form_error_naming_the_field(client):
    customer = _customer()
    client.force_login(staff(StaffRole.FINANCE))

    response = _settings_post(client, customer, reserve_minutes="5000", follow=True)

    assert response.status_code == 200
    assert "Settings not saved: Reserve minutes: Ensure this value is less than or equal to 1440." in (
        response.content.decode()
    )
    assert not Wallet.objects.filter(customer=customer, limit_mode="hard").exists()


def test_the_overshoot_list_shows_customer_floor_lowest_balance_and_excess(client, source):
    crossing = _overshoot(source, "Overshooter")
    _overshoot(source, "Other")
    client.force_login(staff(StaffRole.FINANCE))

    page = client.get(
        reverse("staff-floor-overshoots"), {"q": "Overshooter", "o": "-excess"}
    ).content.decode()

    assert 'data-testid="overshoot-table"' in page
    assert "Overshooter" in page and "Other" not in page
    assert "-50.00" in page and "-84.496" in page and "34.496" in page
    assert crossing.excess == Decimal("34.496")
    chinese = client.get(reverse("staff-floor-overshoots"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "下限超支" in chinese and "超出金额" in chinese


def test_the_wallet_page_lists_its_overshoots_and_the_reserve_reason(client, source):
    customer = _overshoot(source, "Overshooter").customer
    client.force_login(staff(StaffRole.AUDITOR))

    page = client.get(reverse("staff-customer-wallet", args=[customer.pk])).content.decode()

    assert 'data-testid="wallet-overshoots"' in page and "34.496" in page
    assert "Balance less the reserve at its floor" in page
