import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.wallets.adjustments import wallet_adjust
from billing.wallets.exceptions import WalletError
from billing.wallets.models import WalletAdjustment
from tests.billing.factories import available, spend, staff, topup
from tests.factories import (
    BillingTermsFactory,
    CustomerFactory,
    MembershipFactory,
    StaffFactory,
    SubDistributorFactory,
)

pytestmark = pytest.mark.django_db


def _customer(**kwargs):
    customer = CustomerFactory(**kwargs)
    BillingTermsFactory(customer=customer, currency="CNY")
    return customer


def _adjust_post(client, customer, **data):
    payload = {
        "currency": "CNY",
        "bucket": "paid",
        "amount": "25",
        "reason": "goodwill",
        "idempotency_key": "adj-1",
    }
    payload.update(data)
    return client.post(reverse("staff-customer-wallet-adjust", args=[customer.pk]), payload)


def test_portal_wallet_shows_balance_by_kind_and_history(client):
    customer = _customer()
    topup(customer, "100", "t1")
    spend(customer, "30.5", "d1")
    member = MembershipFactory(customer=customer)
    client.force_login(member.user)
    page = client.get(reverse("portal-wallet")).content.decode()
    assert 'data-testid="wallet-available">69.50 CNY' in page
    assert "wallet-history" in page and "-30.50" in page and "100.00" in page


def test_customer_user_cannot_see_another_customers_wallet(client):
    mine, theirs = _customer(), _customer()
    topup(theirs, "100", "t1")
    client.force_login(MembershipFactory(customer=mine).user)
    assert client.get(reverse("portal-customer-wallet", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("staff-customer-wallet", args=[theirs.pk])).status_code == 403
    assert client.get(reverse("staff-journal")).status_code == 403


def test_sub_distributor_user_sees_its_subtree_only(client):
    sub = SubDistributorFactory()
    child = _customer(parent=sub)
    outsider = _customer()
    topup(child, "10", "t-child")
    client.force_login(MembershipFactory(customer=sub).user)
    response = client.get(reverse("portal-customer-wallet", args=[child.pk]))
    assert response.status_code == 200 and b"10.00" in response.content
    assert b"wallet-topup" not in response.content  # only one's own wallet offers a top-up
    assert client.get(reverse("portal-customer-wallet", args=[outsider.pk])).status_code == 404


def test_finance_adjusts_with_a_reason_and_the_audit_row_is_written(client):
    customer = _customer()
    finance = staff(StaffRole.FINANCE)
    client.force_login(finance)
    assert client.get(reverse("staff-customer-wallet", args=[customer.pk])).status_code == 200
    response = _adjust_post(client, customer)
    assert response.status_code == 302
    adjustment = WalletAdjustment.objects.get()
    assert adjustment.actor == finance and adjustment.reason == "goodwill"
    assert adjustment.transaction.actor == finance
    assert available(customer) == Decimal("25")
    # a double submit posts once
    _adjust_post(client, customer)
    assert WalletAdjustment.objects.count() == 1


def test_adjustment_without_reason_is_refused(client):
    customer = _customer()
    client.force_login(staff(StaffRole.FINANCE))
    _adjust_post(client, customer, reason="  ")
    assert not WalletAdjustment.objects.exists()
    with pytest.raises(WalletError, match="reason"):
        wallet_adjust(
            customer=customer,
            currency="CNY",
            amount=Decimal("1"),
            bucket="paid",
            reason="",
            actor=staff(StaffRole.ADMIN),
            idempotency_key="x",
        )


@pytest.mark.parametrize("role", [StaffRole.AUDITOR, StaffRole.SUPPORT, StaffRole.SALES])
def test_auditor_and_other_roles_cannot_adjust(client, role):
    customer = _customer()
    user = StaffFactory(staff_role=role)
    client.force_login(user)
    assert _adjust_post(client, customer).status_code == 403
    with pytest.raises(WalletError, match="admin or finance"):
        wallet_adjust(
            customer=customer,
            currency="CNY",
            amount=Decimal("1"),
            bucket="paid",
            reason="r",
            actor=user,
            idempotency_key="x",
        )
    assert not WalletAdjustment.objects.exists()


def test_negative_adjustment_takes_credit_away_within_the_floor(client):
    customer = _customer()
    topup(customer, "10", "t1")
    client.force_login(staff(StaffRole.ADMIN))
    _adjust_post(client, customer, amount="-4", reason="duplicate transfer", idempotency_key="a1")
    assert available(customer) == Decimal("6")
    _adjust_post(client, customer, amount="-7", reason="too much", idempotency_key="a2")
    assert available(customer) == Decimal("6")
    assert WalletAdjustment.objects.count() == 1


def test_journal_browser_filters_and_exports_csv(client):
    alice, bob = _customer(name="Alice"), _customer(name="Bob")
    topup(alice, "100", "t-alice")
    topup(bob, "7", "t-bob")
    spend(alice, "0.000125", "d-alice")
    client.force_login(staff(StaffRole.FINANCE))
    url = reverse("staff-journal")
    page = client.get(url, {"customer": alice.pk, "o": "-amount"})
    entries = list(page.context["page_obj"])
    assert {e.transaction.idempotency_key for e in entries} == {"t-alice", "d-alice"}
    assert len(entries) == 4  # both sides of both of Alice's transactions
    assert client.get(url, {"kind": "usage."}).context["page_obj"].paginator.count == 2
    assert (
        client.get(url, {"account_kind": "wallet_paid", "date_from": "2000-01-01"})
        .context["page_obj"]
        .paginator.count
        == 3
    )
    response = client.get(url, {"customer": alice.pk, "export": "csv"})
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 4
    assert {r["amount"] for r in rows} >= {"0.000125000000", "-0.000125000000"}
    assert client.get(reverse("staff-ledger-accounts")).status_code == 200


def test_journal_is_read_only_for_auditors_and_closed_to_support(client):
    client.force_login(StaffFactory(staff_role=StaffRole.AUDITOR))
    assert client.get(reverse("staff-journal")).status_code == 200
    client.force_login(StaffFactory(staff_role=StaffRole.SUPPORT))
    assert client.get(reverse("staff-journal")).status_code == 403
    assert client.get(reverse("staff-wallet-list")).status_code == 200


def test_transaction_detail_and_wallet_list_render(client):
    customer = _customer()
    txn = topup(customer, "10", "t1")
    client.force_login(staff(StaffRole.FINANCE))
    assert b"wallet_paid:CNY" in client.get(reverse("staff-journal-transaction", args=[txn.pk])).content
    assert customer.name.encode() in client.get(reverse("staff-wallet-list")).content
