"""billing.money: every currency is rounded, stored and shown to its own minor unit (JPY 0, CNY 2, KWD 3)."""

import csv
import datetime as dt
import io
import subprocess
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import reverse

from accounts.models import StaffRole
from billing.documents.pdf import invoice_pdf
from billing.invoicing.models import Invoice
from billing.money import (
    copy_escape,
    copy_field,
    currency_exponent,
    line_round,
    money_format,
    money_text,
    quantize_money,
)
from billing.payments.redemption import redemption_batch_create, redemption_batch_export
from billing.receivables.models import CustomerPayment
from billing.statements.exports import invoices_csv_rows, payments_csv_rows
from tests.billing.documents.helpers import invoice, payment
from tests.billing.factories import spend, staff, topup
from tests.factories import BillingTermsFactory, CustomerFactory, MembershipFactory

D = Decimal
OCT_5 = dt.date(2026, 10, 5)


def test_each_currency_rounds_to_its_own_minor_unit():
    assert [currency_exponent(c) for c in ("JPY", "cny", "USD", "KWD", "bhd")] == [0, 2, 2, 3, 3]
    assert quantize_money(D("1234.5"), "JPY") == D("1235")
    assert str(quantize_money(D("1.2345"), "KWD")) == "1.235"
    assert str(quantize_money(D("1.005"), "CNY")) == "1.01"  # half up, as card networks round


def test_a_line_is_rounded_once_and_taxed_on_the_rounded_amount():
    assert line_round(D("10.0005"), tax_rate=D("0.05"), currency="KWD") == (
        D("10.000500000000"),
        D("10.001"),
        D("0.500"),
    )
    assert line_round(D("999.5"), tax_rate=D("0.1"), currency="JPY")[1:] == (D("1000"), D("100"))
    assert line_round(D("10.005"), tax_rate=D("0.06"), currency="CNY")[1:] == (D("10.01"), D("0.60"))


def test_amounts_are_shown_with_their_currencys_decimals_and_never_rounded():
    assert money_format(D("1234.5"), "KWD") == "1,234.500"
    assert money_format(D("1234.000"), "JPY") == "1,234"
    assert money_format(D("12.340"), "CNY") == "12.34"
    assert money_format(D("0.000325"), "CNY") == "0.000325"  # a ledger amount keeps its precision
    assert money_format(D("5"), "") == "5.00" and money_format(None, "CNY") == "—"
    assert money_text(D("88.000"), "CNY") == "88.00" and money_text(D("7.000"), "JPY") == "7"
    page = Template("{% load money %}{{ a|money:'BHD' }} {{ b|money:c }}").render(
        Context({"a": D("0.5"), "b": D("-1500.000"), "c": "JPY"})
    )
    assert page == "0.500 -1,500"
    report = Template(
        "{% load money %}{{ a|money_rounded:'KWD' }} {{ b|money_rounded:'JPY' }} {{ c|money_rounded:'CNY' }}"
    )
    assert (
        report.render(Context({"a": D("1.23456"), "b": D("1234.5"), "c": D("-0.001")})) == "1.235 1235 0.00"
    )


def test_copy_text_escapes_only_what_copy_reads_specially():
    assert copy_escape("plain") == "plain"
    assert copy_escape("a\\b\tc\nd\re") == "a\\\\b\\tc\\nd\\re"
    assert [copy_field(v) for v in (None, "x\ty", 3, D("1.50"))] == ["\\N", "x\\ty", "3", "1.50"]


def _pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.django_db
def test_a_kwd_invoice_is_stored_and_shown_with_three_decimals(client):
    customer = CustomerFactory(name="Gulf Trading")
    issued = invoice(customer, "1234.5675", OCT_5, currency="KWD")
    stored = Invoice.objects.get(pk=issued.pk)
    assert str(stored.total) == "1234.568" and str(stored.lines.get().amount) == "1234.568"

    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(f"/dashboard/finance/invoices/{stored.pk}/").content.decode()
    assert "1,234.568 KWD" in page
    assert "1,234.568" in _pdf_text(invoice_pdf(stored))
    rows = list(csv.DictReader(io.StringIO("".join(invoices_csv_rows(OCT_5, OCT_5)))))
    assert (rows[0]["total"], rows[0]["due"]) == ("1234.568", "1234.568")


@pytest.mark.django_db
def test_jpy_and_cny_invoices_keep_their_own_decimals(client):
    customer = CustomerFactory(name="Tokyo AI")
    yen = Invoice.objects.get(pk=invoice(customer, "1234.5", OCT_5, currency="JPY").pk)
    yuan = Invoice.objects.get(pk=invoice(CustomerFactory(), "100", OCT_5, currency="CNY").pk)
    assert (yen.total, yuan.total) == (D("1235"), D("100"))
    assert str(yuan.total) == "100.00"  # the column's padding zero is not read back

    client.force_login(staff(StaffRole.FINANCE))
    assert "1,235 JPY" in client.get(f"/dashboard/finance/invoices/{yen.pk}/").content.decode()
    assert "100.00 CNY" in client.get(f"/dashboard/finance/invoices/{yuan.pk}/").content.decode()
    text = _pdf_text(invoice_pdf(yen))
    assert "1,235" in text and "1,235.00" not in text
    rows = {r["currency"]: r for r in csv.DictReader(io.StringIO("".join(invoices_csv_rows(OCT_5, OCT_5))))}
    assert (rows["JPY"]["total"], rows["CNY"]["total"]) == ("1235", "100.00")


@pytest.mark.django_db
def test_a_bhd_payment_and_code_value_keep_three_decimals():
    customer = CustomerFactory()
    due = invoice(customer, "10.250", OCT_5, currency="BHD")
    payment(customer, "12.125", OCT_5, [(due, "10.250")], currency="BHD")
    assert str(CustomerPayment.objects.get().amount) == "12.125"
    [row] = csv.DictReader(io.StringIO("".join(payments_csv_rows(OCT_5, OCT_5))))
    assert (row["amount"], row["allocated"], row["unallocated"]) == ("12.125", "10.250", "1.875")

    finance = staff(StaffRole.FINANCE)
    batch = redemption_batch_create(
        user=finance,
        name="Gulf launch",
        currency="KWD",
        value=D("2.125"),
        count=1,
        expires_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC),
    )
    [code] = csv.DictReader(io.StringIO(redemption_batch_export(batch=batch, user=finance)))
    assert code["value"] == "2.125"


@pytest.mark.django_db
def test_a_kwd_wallet_shows_three_decimals_and_a_jpy_wallet_none(client):
    customer = CustomerFactory()
    BillingTermsFactory(customer=customer, currency="KWD")
    topup(customer, "100", "t1", currency="KWD")
    spend(customer, "30.5", "d1", currency="KWD")
    topup(customer, "5000", "t2", currency="JPY")
    client.force_login(MembershipFactory(customer=customer).user)

    page = client.get(reverse("portal-wallet"), {"currency": "KWD"}).content.decode()
    assert 'data-testid="wallet-available">69.500 KWD' in page and "-30.500" in page
    page = client.get(reverse("portal-wallet"), {"currency": "JPY"}).content.decode()
    assert 'data-testid="wallet-available">5,000 JPY' in page
