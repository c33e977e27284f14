"""The billing terms page: who may change what, the validation rules, and the audit trail."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.dunning.services import dunning_policy_standard
from billing.terms.models import BillingTerms, BillingTermsChange
from tests.billing.factories import staff, topup
from tests.factories import BillingTermsFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def terms():
    return BillingTermsFactory(customer__language="en", customer__contact_email="ops@acme.example")


def form_data(terms, **changes):
    data = {
        "mode": terms.mode,
        "currency": terms.currency,
        "payment_term": terms.payment_term,
        "payment_days": terms.payment_days,
        "credit_limit": terms.credit_limit,
        "credit_policy": terms.credit_policy,
        "tax_rate": terms.tax_rate,
        "tax_label": terms.tax_label,
        "tax_id": terms.tax_id,
        "billing_address": terms.billing_address,
        "billing_emails": terms.billing_emails,
        "dunning_policy": terms.dunning_policy_id or "",
        "language": terms.customer.language,
    }
    if terms.review_invoices:
        data["review_invoices"] = "on"
    data.update(changes)
    return data


def url(terms):
    return reverse("staff-customer-terms", args=[terms.customer_id])


def test_sales_sets_credit_terms_and_the_change_is_recorded(client, terms):
    user = staff(StaffRole.SALES)
    client.force_login(user)
    policy = dunning_policy_standard()
    data = form_data(
        terms,
        mode="monthly",
        payment_term="eom",
        payment_days="15",
        credit_limit="50000.00",
        credit_policy="block",
        tax_rate="0.06",
        tax_label="VAT 6%",
        tax_id="91310000MA1FL0000X",
        billing_emails="ap@acme.example; cfo@acme.example",
        dunning_policy=policy.pk,
        language="zh-hans",
        review_invoices="on",
    )

    response = client.post(url(terms), data)

    assert response.status_code == 302
    terms.refresh_from_db()
    assert (terms.mode, terms.payment_term, terms.payment_days) == ("monthly", "eom", 15)
    assert terms.credit_limit == Decimal("50000") and terms.credit_policy == "block"
    assert terms.billing_email_list == ["ap@acme.example", "cfo@acme.example"]
    assert terms.dunning_policy == policy and terms.review_invoices
    assert terms.customer.language == "zh-hans"
    change = BillingTermsChange.objects.get()
    assert change.actor == user
    assert change.changes["credit_limit"] == ["0.00", "50000.00"]
    assert change.changes["language"] == ["en", "zh-hans"]
    assert "currency" not in change.changes
    page = client.get(url(terms)).content.decode()
    assert user.email in page and "credit_limit" in page

    # saving the same values again records nothing
    client.post(url(terms), form_data(terms))
    assert BillingTermsChange.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"credit_limit": "1000"}, "credit_limit", "A credit limit needs a credit mode"),
        (
            {"mode": "monthly", "payment_term": "net", "payment_days": "400"},
            "payment_days",
            "between 0 and 365",
        ),
        ({"billing_emails": "ap@acme.example, not-an-address"}, "billing_emails", "not-an-address"),
        ({"currency": "C1"}, "currency", "three-letter ISO 4217"),
    ],
)
def test_refused_values_name_the_field(client, terms, changes, field, message):
    client.force_login(staff(StaffRole.FINANCE))

    response = client.post(url(terms), form_data(terms, **changes))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not BillingTermsChange.objects.exists()
    assert BillingTerms.objects.get(pk=terms.pk).credit_limit == 0


def test_currency_change_is_refused_once_there_is_ledger_activity(client, terms):
    client.force_login(staff(StaffRole.ADMIN))
    assert client.post(url(terms), form_data(terms, currency="usd")).status_code == 302
    terms.refresh_from_db()
    assert terms.currency == "USD"

    topup(terms.customer, "10", "t1", currency="USD")
    response = client.post(url(terms), form_data(terms, currency="CNY"))

    errors = " ".join(response.context["form"].errors["currency"])
    assert "cannot change from USD to CNY" in errors
    terms.refresh_from_db()
    assert terms.currency == "USD"


def test_support_reads_but_cannot_change_and_customers_and_auditors_are_refused(client, terms):
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(url(terms))
    assert page.status_code == 200 and b'data-testid="terms-read-only"' in page.content
    assert client.post(url(terms), form_data(terms, credit_limit="0", tax_label="x")).status_code == 403

    client.force_login(staff(StaffRole.AUDITOR))
    assert client.get(url(terms)).status_code == 200
    assert client.post(url(terms), form_data(terms, tax_label="x")).status_code == 403

    member = MembershipFactory(customer=terms.customer)
    client.force_login(member.user)
    assert client.get(url(terms)).status_code == 403
    assert not BillingTermsChange.objects.exists()

    client.force_login(UserFactory())
    assert client.get(url(terms)).status_code == 403
    client.force_login(staff(StaffRole.SALES))
    assert client.get(reverse("staff-customer-terms", args=[999999])).status_code == 404


def test_customer_detail_links_to_billing_terms(client, terms):
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(reverse("staff-customer-detail", args=[terms.customer_id])).content.decode()
    assert url(terms) in page


def test_a_limit_finer_than_the_currency_is_refused_and_one_stored_before_the_check_blocks_nothing(client):
    client.force_login(staff(StaffRole.FINANCE))
    terms = BillingTermsFactory(mode="monthly", currency="JPY", credit_limit=Decimal("0"))

    response = client.post(url(terms), form_data(terms, credit_limit="1000.5"))
    assert "JPY amounts have at most 0 decimal places." in response.context["form"].errors["credit_limit"]

    # A JPY 1000.50 limit saved when the column had two places: editing the contacts still saves.
    BillingTerms.objects.filter(pk=terms.pk).update(credit_limit=Decimal("1000.50"))
    terms.refresh_from_db()
    response = client.post(url(terms), form_data(terms, billing_emails="ap@acme.example"))
    assert response.status_code == 302
    assert BillingTerms.objects.get(pk=terms.pk).billing_emails == "ap@acme.example"
