"""A past day on the dashboard follows the ledger: a payment received on the day but entered later, or an
opening item dated before it, changes the day and its point on the float trend; only finance and admin
page views store a snapshot; days before the ledger starts are refused; today's cached path stays."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffRole
from billing.exposure.models import CapitalSnapshot
from billing.exposure.snapshots import snapshot_take, snapshots_refresh
from billing.opening.services import opening_import
from billing.receivables.services import payment_record
from tests.billing.factories import staff
from tests.billing.invoicing.factories import credit_terms, issued_invoice
from tests.distributor.test_dashboard import _value
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _day():
    return timezone.localdate() - timedelta(days=3)


def _owed(amount="100.00"):
    """A credit customer with an invoice issued 60 days before the day looked at: overdue by then."""
    customer = CustomerFactory(name="Late Payer", code="late")
    credit_terms(customer, currency="CNY")
    issued_invoice(customer, amount, issue_date=_day() - timedelta(days=60))
    return customer


def _pay(customer, amount: str, received_on, key: str):
    payment_record(
        customer=customer,
        amount=Decimal(amount),
        currency="CNY",
        received_on=received_on,
        reference=key,
        actor=staff(StaffRole.FINANCE),
        idempotency_key=key,
    )


def _get(client, role, **params):
    client.force_login(staff(role))
    response = client.get(reverse("dashboard"), params)
    return response, response.content.decode()


def test_a_payment_received_on_the_day_and_entered_the_next_morning_changes_the_day(client):
    customer = _owed()
    day = _day()
    _response, html = _get(client, StaffRole.FINANCE, day=day.isoformat())
    assert _value(html, "value-receivables") == "100.00 CNY" and _value(html, "value-overdue") == "100.00 CNY"
    first = CapitalSnapshot.objects.get(day=day)

    _pay(customer, "40", day, "pay-late-entered")  # received on the day, entered now
    _response, html = _get(client, StaffRole.FINANCE, day=day.isoformat())

    assert _value(html, "value-receivables") == "60.00 CNY" and _value(html, "value-overdue") == "60.00 CNY"
    again = CapitalSnapshot.objects.get(day=day)  # re-taken in place, still one row for the day
    assert again.pk == first.pk and again.figures["base"]["receivables"].startswith("60")
    assert again.figures["ledger_mark"]["allocation"] > first.figures["ledger_mark"]["allocation"]
    # the day before the payment is untouched by it: still fresh, shown from its snapshot
    _get(client, StaffRole.FINANCE, day=(day - timedelta(days=1)).isoformat())
    before = CapitalSnapshot.objects.get(day=day - timedelta(days=1))
    _pay(customer, "10", day + timedelta(days=1), "pay-next-day")
    _response, html = _get(client, StaffRole.FINANCE, day=(day - timedelta(days=1)).isoformat())
    assert _value(html, "value-receivables") == "100.00 CNY"
    assert CapitalSnapshot.objects.get(pk=before.pk).computed_at == before.computed_at


def test_an_opening_item_dated_before_the_day_changes_it(client):
    _owed()
    day = _day()
    snapshot_take(day)
    credit_terms(CustomerFactory(name="Moved In", code="moved"), currency="CNY")

    record = opening_import(
        content=(
            "customer,document,issue_date,due_date,amount,currency,description\n"
            f"moved,OLD-1,{day - timedelta(days=40)},{day - timedelta(days=10)},250.00,CNY,Old books"
        ).encode(),
        filename="open.csv",
        kind="receivables",
        apply=True,
    )
    assert record.state == "applied"
    _response, html = _get(client, StaffRole.ADMIN, day=day.isoformat())

    assert _value(html, "value-receivables") == "350.00 CNY" and _value(html, "value-overdue") == "350.00 CNY"
    assert CapitalSnapshot.objects.get(day=day).figures["base"]["overdue"].startswith("350")


def test_the_trend_point_of_the_day_follows_the_ledger(client):
    customer = _owed()
    day = _day()
    snapshots_refresh(until=timezone.localdate() - timedelta(days=1), days=5)
    response, _html = _get(client, StaffRole.FINANCE)
    trend = response.context["trend"]
    point = trend["labels"].index(day.isoformat())
    before = Decimal(trend["values"][point])

    _pay(customer, "40", day, "pay-trend")
    response, _html = _get(client, StaffRole.FINANCE)

    values = response.context["trend"]["values"]
    assert Decimal(values[point]) == before - 40  # receivables are part of the float
    assert Decimal(values[point - 1]) == before  # the day before the payment did not move
    assert Decimal(CapitalSnapshot.objects.get(day=day).figures["base"]["funded_float"]) == before - 40


@pytest.mark.parametrize("role", [StaffRole.SUPPORT, StaffRole.AUDITOR, StaffRole.SALES])
def test_a_get_by_a_role_that_may_not_store_shows_the_day_without_storing_it(client, role):
    customer = _owed()
    day = _day()

    response, html = _get(client, role, day=day.isoformat())

    assert response.status_code == 200 and 'data-testid="not-stored"' in html
    assert not CapitalSnapshot.objects.exists()
    # a stale snapshot is read through, not rewritten
    snapshot_take(day)
    taken = CapitalSnapshot.objects.get().computed_at
    _pay(customer, "40", day, f"pay-{role}")
    response, html = _get(client, role, day=day.isoformat())
    assert response.status_code == 200 and 'data-testid="not-stored"' in html
    if role != StaffRole.SUPPORT:
        assert _value(html, "value-receivables") == "60.00 CNY"
    assert CapitalSnapshot.objects.get().computed_at == taken
    # the trend an auditor reads follows too, still without storing
    if role == StaffRole.AUDITOR:
        response, _html = _get(client, role)
        trend = response.context["trend"]
        assert Decimal(trend["values"][trend["labels"].index(day.isoformat())]) == 60  # receivables
        assert CapitalSnapshot.objects.get().computed_at == taken


def test_days_before_the_ledger_starts_are_refused_on_the_field(client):
    response, html = _get(client, StaffRole.FINANCE, day=_day().isoformat())
    assert response.status_code == 400 and "Nothing has been posted to the ledger yet" in html

    _owed()
    first = _day() - timedelta(days=60)
    response, html = _get(client, StaffRole.FINANCE, day=(first - timedelta(days=1)).isoformat())
    assert response.status_code == 400 and 'data-testid="day-error"' in html
    assert f"The ledger starts on {first.isoformat()}" in html
    response, _html = _get(client, StaffRole.FINANCE, day=first.isoformat())
    assert response.status_code == 200
    assert list(CapitalSnapshot.objects.values_list("day", flat=True)) == [first]


def test_todays_cached_path_reads_fresh_snapshots_without_retaking_them(
    client, django_assert_max_num_queries
):
    _owed()
    snapshots_refresh(until=timezone.localdate() - timedelta(days=1), days=90)
    taken = dict(CapitalSnapshot.objects.values_list("day", "computed_at"))
    client.force_login(staff(StaffRole.FINANCE))
    assert client.get(reverse("dashboard")).status_code == 200  # fills the minute's cache

    with django_assert_max_num_queries(20):
        response = client.get(reverse("dashboard"))

    assert response.status_code == 200 and response.context["trend"]["missing"] == 0
    assert dict(CapitalSnapshot.objects.values_list("day", "computed_at")) == taken
