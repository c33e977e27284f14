"""Redemption codes per book: a seller's codes credit only the customers it sells to, in its book, at its
expense; the operator's codes keep working for the operator's customers; another book's code is refused
with a clear message and stays unused."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import MemberRole, StaffRole
from billing.ledger.models import AccountKind, LedgerAccount
from billing.payments.models import RedemptionBatch, RedemptionCode
from billing.payments.redemption import redemption_batch_create, redemption_code_redeem
from tests.billing.customers.conftest import member
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db


def batch_form(**extra) -> dict:
    expires = timezone.localtime() + timedelta(days=30)
    return {
        "name": "Spring promo",
        "currency": "CNY",
        "value": "20.00",
        "count": "3",
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M"),
        **extra,
    }


def operator_batch():
    return redemption_batch_create(
        user=staff(StaffRole.FINANCE),
        name="Operator promo",
        currency="CNY",
        value=Decimal("10.00"),
        count=1,
        expires_at=timezone.now() + timedelta(days=5),
    )


def test_the_seller_issues_codes_for_its_book(as_owner, seller):
    response = as_owner.post(reverse("portal-seller-codes"), batch_form())

    assert response.status_code == 302
    batch = RedemptionBatch.objects.get()
    assert (batch.book, batch.count, batch.codes.count()) == (seller, 3, 3)
    export = as_owner.get(reverse("portal-seller-code-export", args=[batch.pk]))
    assert export.status_code == 200
    assert batch.codes.first().code in export.content.decode()


def test_its_customer_redeems_its_code_into_the_sellers_book(as_owner, seller, prepaid):
    as_owner.post(reverse("portal-seller-codes"), batch_form())
    code = RedemptionCode.objects.first()
    user = member(prepaid, "c@example.com")

    redeemed = redemption_code_redeem(user=user, customer=prepaid, code=code.code)

    assert redeemed.credit_transaction.book_id == seller.pk
    promo = LedgerAccount.objects.get(kind=AccountKind.PROMOTIONAL_CREDIT, book=seller)
    assert promo.balance == Decimal("20.00")
    assert LedgerAccount.objects.get(customer=prepaid, kind=AccountKind.WALLET_GRANTED).balance == Decimal(
        "-20.00"
    )


def test_an_operator_customer_cannot_redeem_a_sellers_code(as_owner, stranger):
    as_owner.post(reverse("portal-seller-codes"), batch_form())
    code = RedemptionCode.objects.first()

    with pytest.raises(ValidationError) as exc:
        redemption_code_redeem(user=member(stranger, "x@example.com"), customer=stranger, code=code.code)

    assert exc.value.code == "book"
    assert "issued by another seller" in exc.value.messages[0]
    code.refresh_from_db()
    assert code.redeemed_at is None


def test_the_operators_codes_work_for_its_customers_and_not_for_the_sellers(prepaid, stranger):
    batch = operator_batch()
    code = batch.codes.get()
    with pytest.raises(ValidationError, match="issued by another seller"):
        redemption_code_redeem(user=member(prepaid, "c@example.com"), customer=prepaid, code=code.code)

    redeemed = redemption_code_redeem(
        user=member(stranger, "x@example.com"), customer=stranger, code=code.code
    )

    assert redeemed.credit_transaction.book_id is None


def test_the_portal_redeem_page_says_why_another_books_code_is_refused(client, prepaid):
    code = operator_batch().codes.get()
    client.force_login(member(prepaid, "c@example.com"))

    response = client.post(reverse("portal-topup-redeem"), {"code": code.code}, follow=True)

    assert "issued by another seller" in response.content.decode()


def test_only_its_owner_and_billing_members_issue_codes(seller, prepaid):
    viewer = member(seller, "v@example.com", MemberRole.VIEWER)
    with pytest.raises(PermissionDenied):
        redemption_batch_create(
            user=viewer,
            name="x",
            currency="CNY",
            value=Decimal("1"),
            count=1,
            expires_at=timezone.now() + timedelta(days=1),
            book=seller,
        )
    with pytest.raises(PermissionDenied):
        redemption_batch_create(
            user=member(prepaid, "c@example.com"),
            name="x",
            currency="CNY",
            value=Decimal("1"),
            count=1,
            expires_at=timezone.now() + timedelta(days=1),
            book=seller,
        )
    assert not RedemptionBatch.objects.exists()


def test_the_seller_sees_and_exports_only_its_own_batches(as_owner):
    theirs = operator_batch()
    response = as_owner.get(reverse("portal-seller-codes"))
    assert list(response.context["page_obj"]) == []
    assert as_owner.get(reverse("portal-seller-code-export", args=[theirs.pk])).status_code == 404


def test_operator_finance_exports_a_sellers_batch_but_does_not_issue_for_its_book(as_owner, client, seller):
    as_owner.post(reverse("portal-seller-codes"), batch_form())
    batch = RedemptionBatch.objects.get()
    finance = staff(StaffRole.FINANCE)
    client.force_login(finance)

    response = client.get(reverse("staff-redemption-batch-csv", args=[batch.pk]))

    assert response.status_code == 200
    assert batch.codes.first().code in response.content.decode()
    with pytest.raises(PermissionDenied):
        redemption_batch_create(
            user=finance,
            name="x",
            currency="CNY",
            value=Decimal("1"),
            count=1,
            expires_at=timezone.now() + timedelta(days=1),
            book=seller,
        )
