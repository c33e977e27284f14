"""The billing terms change log reads as sentences in the reader's language: field names, choice labels,
money rounded with its currency, "No credit limit" for zero, yes/no, percentages and local times."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Customer
from billing.dunning.models import DunningPolicy
from billing.terms.change_log import change_lines, change_log_page, credit_limit_text, terms_changes
from billing.terms.models import BillingTermsChange
from billing.terms.services import billing_terms_update, customer_onboard

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    return customer_onboard(
        name="Acme",
        code="acme",
        kind=Customer.Kind.END_CUSTOMER,
        parent=None,
        language="en",
        contact_email="",
        mode="prepaid",
        currency="CNY",
    )


def lines_of(change, language="en") -> dict[str, tuple[str, str, str]]:
    with translation.override(language):
        return {line.field: (line.label, line.old, line.new) for line in change_lines(change)}


def latest(customer) -> BillingTermsChange:
    return terms_changes(customer).first()


def test_choices_and_field_names_in_english_and_chinese(customer):
    billing_terms_update(
        customer=customer,
        values={
            "mode": "monthly",
            "payment_term": "net",
            "payment_days": 30,
            "credit_limit": Decimal("12345.6"),
        },
    )
    change = latest(customer)

    english = lines_of(change)
    assert english["payment_term"] == ("Payment term", "Due on receipt", "Net 30 days")  # with its days
    assert "payment_days" not in english
    assert english["mode"] == ("Billing mode", "Prepaid", "Monthly credit")
    assert english["credit_limit"] == ("Credit limit", "No credit limit", "12,345.60 CNY")

    chinese = lines_of(change, "zh-hans")
    assert chinese["payment_term"] == ("付款条件", "见票即付", "开票后 30 天")
    assert chinese["credit_limit"][0] == "信用额度"
    assert chinese["credit_limit"][1] == "不设信用额度"
    assert chinese["credit_limit"][2] == "12,345.60 CNY"
    assert "mode_from" in chinese and chinese["mode_from"][0] == "新计费方式生效时间"
    for label, old, new in chinese.values():
        assert not any(word in f"{label} {old} {new}" for word in ("Payment", "Prepaid", "Monthly", "credit"))


def test_booleans_fractions_policies_and_language(customer):
    policy = DunningPolicy.objects.create(name="Gentle")
    billing_terms_update(
        customer=customer,
        values={
            "review_invoices": True,
            "tax_rate": Decimal("0.065"),
            "dunning_policy": policy,
            "language": "zh-hans",
        },
    )
    english = lines_of(latest(customer))
    assert english["review_invoices"][1:] == ("No", "Yes")
    assert english["tax_rate"][1:] == ("0%", "6.5%")
    assert english["dunning_policy"] == ("Dunning policy", "—", "Gentle")
    assert english["language"][0] == "Document language"
    chinese = lines_of(latest(customer), "zh-hans")
    assert chinese["review_invoices"][1:] == ("否", "是")


def test_a_currency_change_rounds_each_side_in_its_own_currency(customer):
    billing_terms_update(customer=customer, values={"mode": "monthly", "credit_limit": Decimal("100.50")})
    billing_terms_update(customer=customer, values={"currency": "JPY", "credit_limit": Decimal("20000")})
    english = lines_of(latest(customer))
    # Each side names its own currency (the service records the old limit already rounded to the new one).
    assert english["credit_limit"][1].endswith(" CNY") and english["credit_limit"][2] == "20,000 JPY"
    assert english["currency"][1:] == ("CNY", "JPY")


def test_an_unknown_field_shows_as_stored(customer):
    change = BillingTermsChange.objects.create(
        terms=customer.billing_terms, changes={"retired_field": ["a", "b"], "credit_limit": ["0.000", ""]}
    )
    english = lines_of(change)
    assert english["retired_field"] == ("retired_field", "a", "b")
    assert english["credit_limit"][1:] == ("No credit limit", "No credit limit")


def test_the_page_is_newest_first_with_lines(customer):
    for days in (10, 20, 30):
        billing_terms_update(customer=customer, values={"payment_term": "net", "payment_days": days})
    page = change_log_page(customer, 1, per_page=2)
    assert page.paginator.count == 3
    assert [c.lines[-1].new for c in page.object_list] == ["30", "20"]  # payment days after the term


def test_credit_limit_text_is_the_one_rule(customer):
    with translation.override("en"):
        assert credit_limit_text(None, "CNY") == credit_limit_text("0.000", "CNY") == "No credit limit"
        assert credit_limit_text(Decimal("1000"), "KWD") == "1,000.000 KWD"


def test_the_sellers_terms_page_reads_the_same_sentences(as_owner, credit):
    billing_terms_update(customer=credit, values={"payment_term": "net", "payment_days": 15})
    body = as_owner.get(reverse("portal-seller-terms", args=[credit.pk])).content.decode()
    changes = re.sub(r"<[^>]+>", "", body.split('data-testid="terms-changes"')[1].split("</ul>")[0])
    assert "Payment term: Due on receipt → Net 30 days" in changes  # the seller's onboarding
    assert "Payment days: 30 → 15" in changes
    assert "payment_term" not in changes and "on_receipt" not in changes
