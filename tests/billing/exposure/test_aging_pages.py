"""The aging report's page, CSV, PDF and API: shapes, bad input and who may read them."""

import csv
import datetime as dt
import io
import subprocess

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from catalog.services.fx import fx_rate_set
from tests.billing.exposure.aging_helpers import (  # noqa: F401 (fixture)
    D,
    credit_customer,
    fresh_aging_memo,
    invoice_aged,
    sub_distributor,
    today,
)
from tests.billing.factories import staff
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.django_db]
PAGE, CSV, PDF, API = "exposure-aging", "exposure-aging-csv", "exposure-aging-pdf", "api-reports-aging"


@pytest.fixture
def book():
    """The operator's book: a CNY customer 1–30 and over 90 days late, a USD one (rated) and one in EUR
    (no rate); a reseller's customer billed in the reseller's own book."""
    on = today()
    fx_rate_set(base="USD", quote="CNY", on=on - dt.timedelta(days=40), rate=D("7.2"))
    acme = credit_customer("acme", name="Acme 智能")
    invoice_aged(acme, "1000.00", age=10, on=on)
    invoice_aged(acme, "234.56", age=120, on=on)
    invoice_aged(credit_customer("usd-co", currency="USD"), "100.00", age=0, on=on, currency="USD")
    invoice_aged(credit_customer("eur-co", name="=HYPERLINK(1)", currency="EUR"), "5.00", age=35, on=on,
                 currency="EUR")  # fmt: skip
    reseller = sub_distributor("reseller", mode="resale")
    invoice_aged(credit_customer("hidden", parent=reseller), "777.00", age=3, on=on)
    return {"acme": acme, "reseller": reseller}


def signed_in(client, role):
    client.force_login(staff(role))
    return client


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.SALES, StaffRole.AUDITOR])
def test_readers_see_rows_totals_base_column_chart_and_links(client, book, role):
    response = signed_in(client, role).get(reverse(PAGE))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="aging-chart"' in html and 'id="aging-chart-data"' in html
    assert "<script>" not in html  # CSP: the chart's code is a static file, its data a JSON script tag
    codes = [row.party.code for row in response.context["page_obj"]]
    assert codes == ["acme", "eur-co", "usd-co"]  # never the reseller's own customer
    assert "1,234.56" in html and "720.00" in html  # CNY total; 100 USD at 7.2
    assert 'data-testid="aging-missing-rates"' in html and "EUR" in html
    assert f"{reverse('staff-invoice-list')}?customer={book['acme'].pk}" in html
    assert response.context["chart"]["values"] == ["720.00", "1000.00", "0.00", "0.00", "234.56"]


def test_grouping_sorting_filter_and_the_resellers_book(client, book):
    client = signed_in(client, StaffRole.FINANCE)
    by_total = client.get(reverse(PAGE), {"o": "-total", "currency": "cny"})
    assert [r.party.code for r in by_total.context["page_obj"]] == ["acme"]
    grouped = client.get(reverse(PAGE), {"group": "sub_distributor"})
    groups = [(g.party.code if g.party else None, g.currency, g.total) for g in grouped.context["page_obj"]]
    assert (None, "CNY", D("1234.56")) in groups
    own_book = client.get(reverse(PAGE), {"book": book["reseller"].pk})
    assert [r.party.code for r in own_book.context["page_obj"]] == ["hidden"]
    assert own_book.context["report"].totals["CNY"]["total"] == D("777.00")


@pytest.mark.parametrize(
    ("query", "field"),
    [({"as_of": "31/12/2026"}, "as_of"), ({"as_of": "1999-12-31"}, "as_of"),
     ({"as_of": "2999-01-01"}, "as_of"), ({"currency": "C1"}, "currency"), ({"o": "drop table"}, "o"),
     ({"book": "999999"}, "book")],
)  # fmt: skip
def test_bad_filters_answer_on_their_field_never_a_500(client, book, query, field):
    response = signed_in(client, StaffRole.FINANCE).get(reverse(PAGE), query)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert signed_in(client, StaffRole.FINANCE).get(reverse(CSV), query).status_code == 400


def test_a_past_as_of_date_is_a_report_of_that_day(client, book):
    day = today() - dt.timedelta(days=35)
    response = signed_in(client, StaffRole.FINANCE).get(reverse(PAGE), {"as_of": day.isoformat()})
    totals = response.context["report"].totals
    # 35 days ago acme's 1,000 was not yet due and its 234.56 was 85 days late; USD was not yet issued.
    assert (totals["CNY"]["current"], totals["CNY"]["d61_90"]) == (D("1000.00"), D("234.56"))
    assert "USD" not in totals


def test_csv_is_exact_to_the_minor_unit_injection_safe_and_totalled(client, book):
    response = signed_in(client, StaffRole.FINANCE).get(reverse(CSV))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert header[:5] == ["customer", "name", "sub_distributor", "seller", "currency"]
    assert header[5:] == [
        "current", "d1_30", "d31_60", "d61_90", "d90_plus", "total", "base_currency", "rate", "base_total",
    ]  # fmt: skip
    acme = next(r for r in body if r[0] == "acme")
    assert acme[5:12] == ["0.00", "1000.00", "0.00", "0.00", "234.56", "1234.56", "CNY"]
    evil = next(r for r in body if r[4] == "EUR" and r[1] != "Total")
    assert evil[0] == "eur-co" and evil[1] == "'=HYPERLINK(1)" and evil[12] == "no rate" and evil[13] == ""
    usd_total = next(r for r in body if r[1] == "Total" and r[4] == "USD")
    assert usd_total[10] == "100.00" and D(usd_total[12]) == D("7.2") and usd_total[13] == "720.00"
    assert body[-1][1] == "Total in the base currency" and body[-1][10] == "1954.56"


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.parametrize(
    ("lang", "words"), [("en", ["Over 90 days", "Total"]), ("zh-hans", ["90 天以上", "合计"])]
)
def test_pdf_in_english_and_chinese(client, book, lang, words):
    response = signed_in(client, StaffRole.FINANCE).get(reverse(PDF), {"lang": lang})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for word in [*words, "Acme 智能", "1,234.56", "720.00"]:
        assert word in text


def test_api_shape_and_amounts_as_decimal_strings(client, book):
    response = signed_in(client, StaffRole.SALES).get(reverse(API), {"as_of": today().isoformat()})
    assert response.status_code == 200
    body = response.json()
    assert body["as_of"] == today().isoformat() and body["base_currency"] == "CNY"
    assert body["buckets"] == ["current", "d1_30", "d31_60", "d61_90", "d90_plus"]
    acme = next(c for c in body["customers"] if c["customer"] == "acme")
    assert acme == {
        "customer": "acme", "name": "Acme 智能", "seller": None, "currency": "CNY", "current": "0.00",
        "d1_30": "1000.00", "d31_60": "0.00", "d61_90": "0.00", "d90_plus": "234.56", "total": "1234.56",
        "base_total": "1234.56",
    }  # fmt: skip
    eur = next(c for c in body["customers"] if c["currency"] == "EUR")
    assert eur["base_total"] is None and body["missing_rates"] == ["EUR"]
    assert body["totals"]["USD"] == {"current": "100.00", "d1_30": "0.00", "d31_60": "0.00", "d61_90": "0.00",
                                     "d90_plus": "0.00", "total": "100.00"}  # fmt: skip
    assert body["base_totals"]["total"] == "1954.56"
    assert "hidden" not in {c["customer"] for c in body["customers"]}


@pytest.mark.parametrize("as_of", ["yesterday", "2026-13-01", "1999-12-31", "2999-01-01", "2026-1-1"])
def test_api_refuses_a_bad_as_of_on_its_field(client, as_of):
    response = signed_in(client, StaffRole.FINANCE).get(reverse(API), {"as_of": as_of})
    assert response.status_code == 400
    assert response.json()["field"] == "as_of" and response.json()["error"]


def test_api_is_in_the_openapi_schema(client):
    schema = signed_in(client, StaffRole.FINANCE).get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    operation = schema.json()["paths"]["/api/v1/reports/aging"]["get"]
    # Session authentication only: an anonymous caller gets 403 (tested below), so no 401 is promised.
    assert "401" not in operation["responses"]
    assert "Not signed in" in operation["responses"]["403"]["description"]


def test_support_portal_users_and_anonymous_are_refused(client, book):
    anonymous = [client.get(reverse(name)) for name in (PAGE, CSV, PDF)]
    assert all(r.status_code == 302 and "login" in r["Location"] for r in anonymous)
    refused = client.get(reverse(API))
    assert refused.status_code == 403 and refused.json()["detail"]
    for user in (
        staff(StaffRole.SUPPORT),
        MembershipFactory(customer=book["acme"], role=MemberRole.OWNER).user,
        MembershipFactory(customer=book["reseller"], role=MemberRole.OWNER).user,
    ):
        client.force_login(user)
        assert [client.get(reverse(name)).status_code for name in (PAGE, CSV, PDF, API)] == [403] * 4


def test_a_resellers_owner_and_billing_see_their_own_book_only(client, book):
    for role in (MemberRole.OWNER, MemberRole.BILLING):
        client.force_login(MembershipFactory(customer=book["reseller"], role=role).user)
        response = client.get(reverse("portal-seller-aging"))
        assert response.status_code == 200
        assert [r.party.code for r in response.context["page_obj"]] == ["hidden"]
        assert "book" not in response.context["form"].fields  # cannot ask for another book
        assert (
            client.get(reverse("portal-seller-aging"), {"book": book["reseller"].pk})
            .context["report"]
            .book_id
            == book["reseller"].pk
        )
        text = b"".join(client.get(reverse("portal-seller-aging-csv")).streaming_content).decode()
        assert "hidden" in text and "acme" not in text
    pdf = pdf_text(client.get(reverse("portal-seller-aging-pdf"), {"lang": "en"}).content)
    assert "Hidden" in pdf and "777.00" in pdf and "Reseller" in pdf  # printed under the reseller's name
    assert "Acme" not in pdf and settings.OPERATOR_NAME not in pdf
    client.force_login(MembershipFactory(customer=book["reseller"], role=MemberRole.VIEWER).user)
    assert client.get(reverse("portal-seller-aging")).status_code == 403
    client.force_login(MembershipFactory(customer=book["acme"], role=MemberRole.OWNER).user)
    assert client.get(reverse("portal-seller-aging")).status_code == 403
