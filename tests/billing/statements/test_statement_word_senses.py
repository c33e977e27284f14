"""Words the statement shares with other pages mean something else there, and say so in Chinese.

"Added"/"Used" head amount columns (not the time a key was added), "From" heads who the statement is
from (not a start date), and the terms-change table's "From"/"To" name billing modes (not dates).
"""

from datetime import UTC, date, datetime
from unittest import mock

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import MemberRole
from billing.statements.build import statement_build
from billing.terms.services import billing_terms_update, customer_onboard
from tests.billing.factories import topup
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def onboard(code, mode="prepaid", **kwargs):
    return customer_onboard(
        name=code.title(), code=code, kind="end_customer", parent=None, language="zh-hans",
        contact_email=f"{code}@example.com", mode=mode, currency="CNY", **kwargs,
    )  # fmt: skip


def portal_statement(client, language):
    customer = onboard("hz")
    topup(customer, "50", "g2-topup-1")
    user = UserFactory()
    MembershipFactory(user=user, customer=customer, role=MemberRole.OWNER)
    client.force_login(user)
    client.cookies["django_language"] = language
    month = timezone.localdate().strftime("%Y-%m")
    response = client.get(reverse("portal-statement"), {"period": "month", "month": month})
    assert response.status_code == 200
    return response.content.decode()


def test_the_prepaid_columns_are_amounts_in_chinese(client):
    body = portal_statement(client, "zh-hans")
    assert "预付余额" in body
    assert "添加时间" not in body
    assert ">存入</th>" in body and ">支出</th>" in body


def test_the_seller_block_is_headed_by_who_it_is_from(client):
    body = portal_statement(client, "zh-hans")
    seller = body.split('data-testid="seller-identity"')[1].split("<strong>")[0]
    assert "起始日期" not in seller  # the period form's date field below may still say so: it is a date
    assert ">开票方</div>" in seller


def test_english_keeps_its_words(client):
    body = portal_statement(client, "en")
    assert ">Added</th>" in body and ">Used</th>" in body and ">From</div>" in body


@pytest.mark.parametrize("template", ["documents/statement.html", "documents/pages/_statement_preview.html"])
def test_the_terms_change_table_heads_modes_not_dates(template):
    customer = onboard("s", mode="monthly", terms_from=datetime(2026, 11, 1, tzinfo=UTC))
    with mock.patch("billing.terms.services.timezone.now", return_value=datetime(2026, 11, 10, tzinfo=UTC)):
        billing_terms_update(customer=customer, values={"mode": "prepaid"})
    statement = statement_build(customer, date(2026, 11, 1), date(2026, 11, 30))
    with translation.override("zh-hans"):
        html = render_to_string(template, {"statement": statement, "customer": customer})
    table = html.split("statement-terms-switches")[1].split("</table>")[0]
    assert "起始日期" not in table and "截止日期" not in table
    assert ">变更前</th>" in table and ">变更后</th>" in table
    with translation.override("en"):
        html = render_to_string(template, {"statement": statement, "customer": customer})
    assert "<th>From</th><th>To</th>" in html
