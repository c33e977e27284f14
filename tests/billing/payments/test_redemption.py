"""Redemption codes: generation, export, redemption once — even under a race."""

import contextlib
import csv
import io
import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from accounts.models import StaffRole
from billing.payments.models import RedemptionCode
from billing.payments.redemption import (
    code_normalize,
    redemption_batch_create,
    redemption_batch_export,
    redemption_code_redeem,
)
from tests.billing.factories import staff
from tests.billing.payments.helpers import balance, topup_postings

pytestmark = pytest.mark.django_db

CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


def _batch(finance, **changes):
    args = {
        "user": finance,
        "name": "Launch week",
        "currency": "CNY",
        "value": Decimal("88.00"),
        "count": 5,
        "expires_at": timezone.now() + timedelta(days=30),
    }
    args.update(changes)
    return redemption_batch_create(**args)


def test_finance_generates_a_batch_of_unique_well_formed_codes(client, finance):
    client.force_login(finance)
    response = client.post(
        "/dashboard/payments/codes/new/",
        {
            "name": "Partner X",
            "currency": "cny",
            "value": "50",
            "count": "200",
            "expires_at": "2099-01-01T00:00",
        },
    )
    assert response.status_code == 302
    codes = list(RedemptionCode.objects.values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 200
    assert all(CODE_FORMAT.match(c) for c in codes)


def test_the_batch_exports_as_csv(client, finance, owner, customer):
    batch = _batch(finance)
    client.force_login(finance)

    response = client.get(f"/dashboard/payments/codes/{batch.pk}/codes.csv")

    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert sorted(r["code"] for r in rows) == sorted(batch.codes.values_list("code", flat=True))
    assert {r["value"] for r in rows} == {"88.00"}
    batch.refresh_from_db()
    assert batch.exported_at is not None
    client.force_login(owner)
    assert client.get(f"/dashboard/payments/codes/{batch.pk}/codes.csv").status_code == 403


def test_only_finance_and_admin_export_or_see_codes_not_auditors(client, finance, auditor, sales):
    batch = _batch(finance)
    code = batch.codes.first().code
    url = f"/dashboard/payments/codes/{batch.pk}/codes.csv"
    for user, status in ((auditor, 403), (sales, 403), (finance, 200), (staff(StaffRole.ADMIN), 200)):
        client.force_login(user)
        assert client.get(url).status_code == status, user.staff_role
    with pytest.raises(PermissionDenied):
        redemption_batch_export(batch=batch, user=auditor)

    client.force_login(auditor)
    page = client.get(f"/dashboard/payments/codes/{batch.pk}/").content.decode()
    assert code not in page and code[-4:] in page and 'data-testid="export-csv"' not in page
    client.force_login(finance)
    page = client.get(f"/dashboard/payments/codes/{batch.pk}/").content.decode()
    assert code in page and 'data-testid="export-csv"' in page


def test_a_customer_redeems_a_code_once_as_granted_credit(client, finance, owner, customer):
    code = _batch(finance).codes.first()
    client.force_login(owner)

    # typed sloppily: lower case, spaces, an O for a zero
    typed = code.code.lower().replace("-", " ").replace("0", "o")
    response = client.post("/portal/wallet/top-up/redeem/", {"code": typed}, follow=True)

    assert "88.00 CNY of credit added" in response.content.decode()
    assert balance(customer) == (Decimal("0"), Decimal("88.00"))
    code.refresh_from_db()
    assert (code.customer, code.redeemed_by) == (customer, owner)

    again = client.post("/portal/wallet/top-up/redeem/", {"code": code.code})
    assert again.status_code == 400
    assert "already been used" in again.content.decode()
    assert topup_postings().count() == 1


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("expired", "This code expired on"),
        ("unknown", "This code is not valid"),
        ("usd", "This code is in USD but your account is billed in CNY"),
    ],
)
def test_bad_codes_get_a_clear_message_and_write_nothing(client, finance, owner, setup, message):
    if setup == "expired":
        batch = _batch(finance)
        batch.__class__.objects.filter(pk=batch.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
        text = batch.codes.first().code
    elif setup == "usd":
        text = _batch(finance, currency="USD").codes.first().code
    else:
        text = "ABCD-EFGH-JKMN-PQRS"
    client.force_login(owner)

    response = client.post("/portal/wallet/top-up/redeem/", {"code": text})

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not RedemptionCode.objects.filter(redeemed_at__isnull=False).exists()
    assert not topup_postings().exists()


def test_repeated_wrong_guesses_are_throttled(finance, owner, customer):
    from django.core.cache import cache

    cache.clear()
    good = _batch(finance).codes.first().code
    for _ in range(10):
        with pytest.raises(ValidationError):
            redemption_code_redeem(user=owner, customer=customer, code="0000-0000-0000-0000")
    with pytest.raises(ValidationError, match="Too many failed attempts"):
        redemption_code_redeem(user=owner, customer=customer, code=good)
    cache.clear()


def test_code_normalize():
    assert code_normalize("abcd-efgh-jkmn-pqrs") == "ABCD-EFGH-JKMN-PQRS"
    assert code_normalize("OIL0 0000 0000 0000") == "0110-0000-0000-0000"
    assert code_normalize("ABCD-EFGH-JKMN-PQR") is None
    assert code_normalize("ABCD-EFGH-JKMN-PQRU") is None  # U is not in the alphabet


def test_batch_rules(finance, sales):
    with pytest.raises(ValidationError) as err:
        _batch(finance, value=Decimal("0"), count=0, expires_at=timezone.now() - timedelta(days=1))
    assert set(err.value.message_dict) == {"value", "count", "expires_at"}
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        _batch(sales)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_racing_for_one_code_exactly_one_wins(finance):
    from accounts.models import MemberRole
    from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory

    code = _batch(finance, count=1).codes.get()
    racers = []
    for name in ("Alpha", "Beta"):
        customer = BillingTermsFactory(customer=CustomerFactory(name=name), currency="CNY").customer
        racers.append(MembershipFactory(customer=customer, role=MemberRole.OWNER))
    barrier = threading.Barrier(len(racers))
    outcomes: list[str] = []

    def redeem(membership):
        try:
            barrier.wait()
            redemption_code_redeem(user=membership.user, customer=membership.customer, code=code.code)
            outcomes.append("won")
        except ValidationError as exc:
            outcomes.append(exc.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(m,)) for m in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(outcomes) == ["This code has already been used.", "won"]
    assert topup_postings().count() == 1
    granted = sorted(balance(m.customer)[1] for m in racers)
    assert granted == [Decimal("0"), Decimal("88.00")]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_many_racers_many_rounds_never_double_redeem(finance):
    from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory

    batch = _batch(finance, count=5)
    members = [
        MembershipFactory(customer=BillingTermsFactory(customer=CustomerFactory(), currency="CNY").customer)
        for _ in range(6)
    ]
    for code in batch.codes.all():
        barrier = threading.Barrier(len(members))
        wins = []

        def redeem(m, code=code, barrier=barrier, wins=wins):
            try:
                barrier.wait()
                # losing the race is refused with a ValidationError; only the winner is recorded
                with contextlib.suppress(ValidationError):
                    redemption_code_redeem(user=m.user, customer=m.customer, code=code.code)
                    wins.append(m)
            finally:
                connection.close()

        threads = [threading.Thread(target=redeem, args=(m,)) for m in members]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1
    assert topup_postings().count() == 5
