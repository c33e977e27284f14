"""Staff pages: service charges and period closes (finance/admin; auditors read; others refused)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from accounts.models import StaffRole
from billing.invoicing.models import Invoice, PeriodClose, ServiceCharge
from billing.terms.models import BillingTerms
from tests.billing.factories import staff
from tests.billing.invoicing.conftest import use
from tests.billing.usage.factories import customer_make
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit(model):
    return customer_make(key="key-c", mode=BillingTerms.Mode.MONTHLY)


def test_finance_adds_filters_and_ends_service_charges(client, credit):
    client.force_login(staff(StaffRole.FINANCE))
    response = client.post(
        "/dashboard/service-charges/",
        {
            "customer": credit.pk,
            "description": "Agent orchestration retainer",
            "amount": "8000",
            "recurrence": "monthly",
            "starts_on": "2026-10-01",
        },
    )
    assert response.status_code == 302
    charge = ServiceCharge.objects.get()
    assert (charge.currency, charge.amount, charge.is_active) == ("CNY", Decimal("8000"), True)

    page = client.get("/dashboard/service-charges/", {"q": "retainer", "recurrence": "monthly"})
    assert "Agent orchestration retainer" in page.content.decode()
    assert (
        "Agent orchestration"
        not in client.get("/dashboard/service-charges/", {"q": "nothing"}).content.decode()
    )

    client.post(f"/dashboard/service-charges/{charge.pk}/end/")
    charge.refresh_from_db()
    assert charge.ends_on is not None and charge.is_active


def test_bad_charge_input_names_the_field(client, credit):
    client.force_login(staff(StaffRole.ADMIN))
    prepaid = customer_make(key="key-p")
    response = client.post(
        "/dashboard/service-charges/",
        {
            "customer": prepaid.pk,
            "description": "x",
            "amount": "-5",
            "recurrence": "weekly",
            "starts_on": "soon",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"customer", "amount", "recurrence", "starts_on"}
    response = client.post(
        "/dashboard/service-charges/",
        {
            "customer": credit.pk,
            "description": "x",
            "amount": "5",
            "recurrence": "monthly",
            "starts_on": "2026-10-05",
            "ends_on": "2026-10-01",
        },
    )
    assert "ends_on" in response.context["form"].errors
    assert not ServiceCharge.objects.exists()


def test_run_a_close_from_the_page(client, source, credit, eager_celery):
    use(source, "key-c", datetime(2026, 10, 3, 2, tzinfo=UTC))
    user = staff(StaffRole.FINANCE)
    client.force_login(user)
    assert client.post("/dashboard/period-closes/", {"period": "2026-13"}).context["form"].errors["period"]
    response = client.post("/dashboard/period-closes/", {"period": "2026-10"})
    assert response.status_code == 302
    record = PeriodClose.objects.get()
    assert (record.period, record.state, record.started_by, record.invoices_created) == (
        "2026-10",
        "done",
        user,
        1,
    )
    assert Invoice.objects.get().issued_by == user
    page = client.get("/dashboard/period-closes/").content.decode()
    assert "2026-10" in page and "2026-10-31" in page


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_other_roles_are_refused(client, credit, role):
    client.force_login(staff(role))
    assert client.get("/dashboard/service-charges/").status_code == 403
    assert client.get("/dashboard/period-closes/").status_code == 403
    assert client.post("/dashboard/period-closes/", {"period": "2026-10"}).status_code == 403


def test_auditor_reads_but_cannot_run_or_add(client, credit):
    client.force_login(staff(StaffRole.AUDITOR))
    assert client.get("/dashboard/period-closes/").status_code == 200
    assert client.get("/dashboard/service-charges/").status_code == 200
    assert client.post("/dashboard/period-closes/", {"period": "2026-10"}).status_code == 403
    assert not PeriodClose.objects.exists()


def test_customer_users_are_refused(client, credit):
    user = UserFactory()
    MembershipFactory(user=user, customer=credit)
    client.force_login(user)
    assert client.get("/dashboard/service-charges/").status_code in (302, 403)
    assert client.get("/dashboard/period-closes/").status_code in (302, 403)
    charge = ServiceCharge.objects.create(
        customer=credit, description="x", amount=1, currency="CNY", starts_on=date(2026, 10, 1)
    )
    assert client.post(f"/dashboard/service-charges/{charge.pk}/end/").status_code in (302, 403)
    charge.refresh_from_db()
    assert charge.is_active and charge.ends_on is None
