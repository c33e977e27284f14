"""The risk and interim-invoice settings of billing terms: the form, its refusals, the change log, and
flags closed when their setting goes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import StaffRole
from billing.terms.models import BillingTerms, BillingTermsChange, RiskFlag
from billing.terms.services import billing_terms_update
from tests.billing.factories import staff
from tests.factories import BillingTermsFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit():
    return BillingTermsFactory(
        mode=BillingTerms.Mode.MONTHLY, credit_limit=Decimal("10000"), customer__language="en"
    )


def form_data(terms, **changes):
    data = {
        "mode": terms.mode,
        "currency": terms.currency,
        "payment_term": terms.payment_term,
        "payment_days": terms.payment_days,
        "credit_limit": terms.credit_limit,
        "credit_policy": terms.credit_policy,
        "tax_rate": terms.tax_rate,
        "billing_emails": "",
        "auto_apply_credit": "on",
        "dunning_policy": "",
        "language": terms.customer.language,
        "overdue_flag_days": "",
        "spike_factor": "",
        "progressive_threshold": "",
        "progressive_limit_share": "",
    }
    data.update(changes)
    return data


def url(terms):
    return reverse("staff-customer-terms", args=[terms.customer_id])


def test_finance_sets_the_four_fields_and_the_change_log_shows_them(client, credit):
    client.force_login(staff(StaffRole.FINANCE))

    page = client.get(url(credit)).content.decode()
    for name in ("overdue_flag_days", "spike_factor", "progressive_threshold", "progressive_limit_share"):
        assert f'name="{name}"' in page
    assert "needs at least 7 days of usage history" in page

    response = client.post(
        url(credit),
        form_data(
            credit,
            overdue_flag_days="30",
            spike_factor="3.5",
            progressive_threshold="2500.50",
            progressive_limit_share="0.8",
        ),
    )

    assert response.status_code == 302
    credit.refresh_from_db()
    assert (
        credit.overdue_flag_days,
        credit.spike_factor,
        credit.progressive_threshold,
        credit.progressive_limit_share,
    ) == (30, Decimal("3.5"), Decimal("2500.50"), Decimal("0.8"))
    change = BillingTermsChange.objects.get(terms=credit).changes
    assert change["overdue_flag_days"] == ["", "30"]
    assert change["spike_factor"] == ["", "3.5"]
    assert change["progressive_threshold"] == ["", "2500.50"]
    assert change["progressive_limit_share"] == ["", "0.8"]
    log = client.get(url(credit)).content.decode()
    assert "progressive_threshold" in log and "2500.50" in log


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("overdue_flag_days", "0", "from 1 to 3650"),
        ("spike_factor", "1", "from 1.01 to 1000"),
        ("progressive_threshold", "0", "more than zero"),
        ("progressive_threshold", "10.001", "at most 2 decimal places"),
        ("progressive_limit_share", "1.5", "from 0.01 to 1"),
    ],
)
def test_out_of_range_values_are_refused_on_their_field(client, credit, field, value, message):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.post(url(credit), form_data(credit, **{field: value}))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    credit.refresh_from_db()
    assert getattr(credit, field) is None


def test_a_share_of_the_limit_needs_a_limit(credit):
    with pytest.raises(ValidationError) as refused:
        billing_terms_update(
            customer=credit.customer,
            values={"credit_limit": Decimal("0"), "progressive_limit_share": Decimal("0.5")},
        )
    assert "needs a credit limit" in refused.value.message_dict["progressive_limit_share"][0]


def test_prepaid_terms_refuse_every_risk_and_interim_setting(client):
    prepaid = BillingTermsFactory(customer__language="en")
    client.force_login(staff(StaffRole.SALES))

    response = client.post(
        url(prepaid),
        form_data(
            prepaid,
            overdue_flag_days="30",
            spike_factor="3",
            progressive_threshold="100",
            progressive_limit_share="0.5",
        ),
    )

    errors = response.context["form"].errors
    for name in ("overdue_flag_days", "spike_factor", "progressive_threshold", "progressive_limit_share"):
        assert "Only credit terms" in errors[name][0]
    prepaid.refresh_from_db()
    assert prepaid.overdue_flag_days is None and prepaid.spike_factor is None


def test_support_sees_the_fields_but_may_not_post(client, credit):
    client.force_login(staff(StaffRole.SUPPORT))

    page = client.get(url(credit))
    assert page.status_code == 200 and 'name="spike_factor"' in page.content.decode()
    assert client.post(url(credit), form_data(credit, spike_factor="3")).status_code == 403


def test_blanking_a_setting_or_going_prepaid_closes_its_open_flags(
    credit, django_capture_on_commit_callbacks
):
    billing_terms_update(
        customer=credit.customer, values={"overdue_flag_days": 30, "spike_factor": Decimal("3")}
    )
    overdue = RiskFlag.objects.create(customer=credit.customer, kind="overdue_days", policy="warn")
    spike = RiskFlag.objects.create(customer=credit.customer, kind="usage_spike", policy="warn")

    billing_terms_update(customer=credit.customer, values={"spike_factor": None})

    overdue.refresh_from_db()
    spike.refresh_from_db()
    assert overdue.ended_at is None and spike.ended_at is not None and spike.cleared_by is None

    billing_terms_update(
        customer=credit.customer,
        values={"mode": "prepaid", "credit_limit": Decimal("0"), "overdue_flag_days": None},
    )
    overdue.refresh_from_db()
    assert overdue.ended_at is not None


def test_the_terms_page_lists_the_customers_risk_flags(client, credit):
    RiskFlag.objects.create(customer=credit.customer, kind="usage_spike", policy="block", detail="2026-12-01")
    client.force_login(staff(StaffRole.SALES))

    page = client.get(url(credit)).content.decode()

    assert 'data-testid="terms-risk-flags"' in page and "Usage spike" in page
    assert f"/reports/risk/?q={credit.customer.code}" in page
