"""The terms history: every instant has one mode, switches end one span and start the next."""

from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock

import pytest

from billing.terms.models import BillingTerms, TermsSpan
from billing.terms.services import billing_terms_update, customer_onboard
from billing.terms.spans import spans_of
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOV_10 = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)
NOV_20 = datetime(2026, 11, 20, tzinfo=UTC)


def _onboard(code: str, mode: str, *, language: str = "en", terms_from=None):
    return customer_onboard(
        name=code.upper(),
        code=code,
        kind="end_customer",
        parent=None,
        language=language,
        contact_email="",
        mode=mode,
        currency="CNY",
        terms_from=terms_from,
    )


def _switch(customer, mode, at):
    with mock.patch("billing.terms.services.timezone.now", return_value=at):
        billing_terms_update(customer=customer, values={"mode": mode})


def test_switches_make_contiguous_spans_and_mode_at_reads_them():
    c = _onboard("acme", "monthly", terms_from=datetime(2026, 11, 1, tzinfo=UTC))
    _switch(c, "prepaid", NOV_10)
    _switch(c, "monthly", NOV_20)
    rows = list(TermsSpan.objects.filter(customer=c).values_list("mode", "starts_at", "ends_at"))
    assert rows == [
        ("monthly", datetime(2026, 11, 1, tzinfo=UTC), NOV_10),
        ("prepaid", NOV_10, NOV_20),
        ("monthly", NOV_20, None),
    ]
    spans = spans_of([c.pk])[c.pk]
    assert spans.mode_at(datetime(2026, 10, 1, tzinfo=UTC)) == "monthly"  # before onboarding: first terms
    assert spans.mode_at(datetime(2026, 11, 10, 12, 29, 59, tzinfo=UTC)) == "monthly"
    assert spans.mode_at(NOV_10) == "prepaid"
    assert spans.mode_at(datetime(2026, 11, 19, 23, 59, tzinfo=UTC)) == "prepaid"
    assert spans.mode_at(NOV_20) == "monthly"
    assert spans.credit_intervals() == [(None, NOV_10), (NOV_20, None)]


def test_terms_written_before_spans_are_on_their_mode_throughout():
    c = CustomerFactory()
    BillingTerms.objects.create(customer=c, mode="quarterly", currency="CNY")
    spans = spans_of([c.pk])[c.pk]
    assert spans.mode_at(datetime(2020, 1, 1, tzinfo=UTC)) == "quarterly"
    _switch(c, "prepaid", NOV_10)
    spans = spans_of([c.pk])[c.pk]
    assert spans.mode_at(datetime(2026, 11, 1, tzinfo=UTC)) == "quarterly"
    assert spans.mode_at(NOV_10) == "prepaid"
    assert spans.credit_intervals() == [(None, NOV_10)]


def test_a_change_of_other_fields_keeps_the_span():
    c = _onboard("b", "prepaid")
    billing_terms_update(customer=c, values={"tax_rate": Decimal("0.06")})
    assert TermsSpan.objects.filter(customer=c).count() == 1


def test_onboarding_refuses_terms_from_the_future():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as err:
        _onboard("f", "monthly", terms_from=datetime(2999, 1, 1, tzinfo=UTC))
    assert "terms_from" in err.value.message_dict
    assert not TermsSpan.objects.filter(customer__code="f").exists()


def test_the_terms_page_shows_the_mode_history(client):
    from django.urls import reverse

    from accounts.models import StaffRole
    from tests.billing.factories import staff

    c = _onboard("h", "monthly")
    _switch(c, "prepaid", NOV_10)
    client.force_login(staff(StaffRole.SUPPORT))
    html = client.get(reverse("staff-customer-terms", args=[c.pk])).content.decode()
    table = html.split('data-testid="terms-spans"')[1].split("</table>")[0]
    assert "Monthly credit" in table and "Prepaid" in table
    assert "2026-11-10" in table and "and any earlier usage" in table


def test_the_statement_names_a_switch_in_its_period_in_the_customers_language():
    from datetime import date

    from django.template.loader import render_to_string
    from django.utils import translation

    from billing.statements.build import statement_build

    c = _onboard("s", "monthly", language="zh-hans")
    _switch(c, "prepaid", NOV_10)
    statement = statement_build(c, date(2026, 11, 1), date(2026, 11, 30))
    assert [(a.mode, b.mode) for a, b in statement.terms_switches] == [("monthly", "prepaid")]
    assert statement_build(c, date(2026, 12, 1), date(2026, 12, 31)).terms_switches == []
    with translation.override("zh-hans"):
        html = render_to_string("documents/statement.html", {"statement": statement, "customer": c})
    assert "计费条款变更" in html and "月结" in html.split("statement-terms-switches")[1]
