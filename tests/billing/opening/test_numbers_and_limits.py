"""Old document numbers never take this system's own numbers; amounts stay within what the ledger holds
(a refusal with row and field, never a 500); thousands separators only in groups of three."""

import html
from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import StaffRole
from billing.invoicing.models import Invoice
from billing.opening.models import OpeningImport
from billing.opening.services import opening_import
from tests.billing.factories import staff
from tests.billing.invoicing.factories import issued_invoice
from tests.billing.opening.conftest import opening_csv

pytestmark = pytest.mark.django_db

OURS = "this system's own numbers"


def run(*rows: str, kind="receivables", apply=False):
    return opening_import(content=opening_csv(kind, *rows), filename="open.csv", kind=kind, apply=apply)


def errors_of(record) -> list[tuple[int, str, str]]:
    return [(e["row"], e["field"], e["message"]) for e in record.errors]


def test_a_document_shaped_like_one_of_our_numbers_is_refused_and_invoicing_goes_on(acme, beta, reseller):
    shop, child = reseller
    record = run(
        "acme,INV-2026-000001,2026-09-15,2026-10-15,100.00,CNY,",
        "acme,CN-2026-000001,2026-09-15,2026-10-15,100.00,CNY,",
        "acme,RC-2025-000007,2026-09-15,2026-10-15,100.00,CNY,",
        "acme,inv-2026-000002,2026-09-15,2026-10-15,100.00,CNY,",
        "acme,INV-2026-1000000,2026-09-15,2026-10-15,100.00,CNY,",
        f"child-c,INV-{shop.pk}-2026-000001,2026-09-15,2026-10-15,100.00,CNY,",
        "acme,OLD-INV-2026-000001,2026-09-15,2026-10-15,100.00,CNY,",
        "acme,INV-2026-0412,2026-09-15,2026-10-15,100.00,CNY,",
        apply=True,
    )
    assert record.state == "refused" and not Invoice.objects.exists()
    errors = errors_of(record)
    assert [(row, field) for row, field, _message in errors] == [(n, "document") for n in range(2, 8)]
    assert errors[0][2] == (
        "Document INV-2026-000001 is shaped like this system's own numbers (invoices INV-2026-000001, "
        "credit notes CN-…, receipts RC-…, and a sub-distributor's INV-<id>-2026-…): a later invoice, "
        "credit note or receipt could take it. Keep the old number recognisable with a prefix of your own, "
        "such as OLD-INV-2026-000001."
    )
    # Without them the file applies, and this system's own series go on from their first number.
    record = run(
        "acme,OLD-INV-2026-000001,2026-09-15,2026-10-15,100.00,CNY,",
        "acme,INV-2026-0412,2026-09-15,2026-10-15,100.00,CNY,",
        apply=True,
    )
    assert record.state == "applied" and record.created == 2
    first = issued_invoice(beta, "50.00", issue_date=date(2026, 11, 1))
    second = issued_invoice(acme, "60.00", issue_date=date(2026, 11, 2))
    mine = issued_invoice(child, "70.00", issue_date=date(2026, 11, 2))
    assert (first.number, second.number) == ("INV-2026-000001", "INV-2026-000002")
    assert mine.number == f"INV-{shop.pk}-2026-000001"


@pytest.mark.parametrize(
    ("amount", "value"),
    [("1,234.50", "1234.50"), ("1,234,567.89", "1234567.89"), ("12", "12"), ("999", "999")],
)
def test_thousands_separators_in_groups_of_three_are_read(acme, amount, value):
    record = run(f'acme,D-1,2026-09-15,2026-10-15,"{amount}",CNY,')
    assert record.errors == [] and record.plan.rows[0].source.amount == Decimal(value)


@pytest.mark.parametrize("amount", ["1,2,3.4", "12,34.00", "1234,50", ",123", "1,,234", "1,2345.00"])
def test_thousands_separators_out_of_place_are_an_error(acme, amount):
    record = run(f'acme,D-1,2026-09-15,2026-10-15,"{amount}",CNY,')
    assert errors_of(record) == [
        (
            2,
            "amount",
            f"amount {amount!r} has a comma out of place: write 1234.50, or with thousands separators "
            "1,234.50 (groups of three digits).",
        )
    ]


def test_an_amount_beyond_what_one_balance_may_be_is_an_error_saying_the_limit(acme):
    record = run("acme,D-1,2026-09-15,2026-10-15,1000000000000000,CNY,")
    assert errors_of(record) == [
        (
            2,
            "amount",
            "amount 1000000000000000 is too large: an opening balance must be below 1,000,000,000,000,000.",
        )
    ]
    assert run("acme,D-1,2026-09-15,2026-10-15,999999999999999.99,CNY,").errors == []


def test_the_total_per_customer_and_currency_is_limited_in_the_preview(acme, beta):
    rows = [f"acme,D{i},2026-09-15,2026-10-15,999999999999999,CNY," for i in range(20)]
    record = run(*rows)
    assert errors_of(record) == [
        (
            3,
            "amount",
            "The amounts of Acme Agents in CNY add up to 1999999999999998.00 by this row: what one file "
            "brings to one customer, channel or book in one currency must stay below 1,000,000,000,000,000.",
        )
    ]


def test_the_total_per_book_and_currency_is_limited_too(acme, beta):
    record = run(
        "acme,D-1,2026-09-15,2026-10-15,600000000000000,CNY,",
        "beta,D-2,2026-09-15,2026-10-15,600000000000000,CNY,",
    )
    assert errors_of(record) == [
        (
            3,
            "amount",
            "The opening balances in CNY of the operator's book add up to 1200000000000000.00 by this row: "
            "what one file brings to one customer, channel or book in one currency must stay below "
            "1,000,000,000,000,000.",
        )
    ]


def test_twenty_huge_rows_on_the_page_are_refused_in_the_preview_never_a_500(client, acme):
    client.force_login(staff(StaffRole.ADMIN))
    rows = [f"acme,D{i},2026-09-15,2026-10-15,999999999999999,CNY," for i in range(20)]
    response = client.post(
        reverse("opening-import"),
        {"kind": "receivables", "file": SimpleUploadedFile("o.csv", opening_csv("receivables", *rows))},
    )
    page = client.get(response["Location"]).content.decode()
    assert "add up to 1999999999999998.00 by this row" in page and 'name="digest"' not in page


def _fill_up(customer_code: str, files: int) -> None:
    """Bring a customer's receivable near what the ledger holds, one file (within the limits) at a time."""
    for n in range(files):
        record = run(f"{customer_code},FILL-{n},2026-09-15,2026-10-15,999999999999999,CNY,", apply=True)
        assert record.state == "applied", record.errors


LEDGER_FULL = (
    "The amounts are more than the ledger can hold: with what is stored already, an account's balance would "
    "reach 10,000,000,000,000,000 or more. Nothing was applied."
)


def test_an_overflow_while_applying_refuses_the_file_on_the_page(client, acme):
    _fill_up("acme", 10)
    client.force_login(staff(StaffRole.ADMIN))
    content = opening_csv("receivables", "acme,LAST,2026-09-15,2026-10-15,999999999999999,CNY,")
    response = client.post(
        reverse("opening-import"), {"kind": "receivables", "file": SimpleUploadedFile("o.csv", content)}
    )
    page = client.get(response["Location"]).content.decode()
    digest = page.split('name="digest" value="', 1)[1].split('"', 1)[0]
    record = OpeningImport.objects.latest("pk")
    client.raise_request_exception = False
    applied = client.post(reverse("opening-import-apply", args=[record.pk]), {"digest": digest}, follow=True)
    assert applied.status_code == 200 and LEDGER_FULL in html.unescape(applied.content.decode())
    record.refresh_from_db()
    assert record.state == "refused" and record.errors == [
        {"row": 0, "field": "file", "message": LEDGER_FULL}
    ]
    assert not Invoice.objects.filter(number="LAST").exists()


def test_an_overflow_while_applying_refuses_the_file_in_the_command(acme, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    _fill_up("acme", 10)
    path = tmp_path / "o.csv"
    path.write_bytes(opening_csv("receivables", "acme,LAST,2026-09-15,2026-10-15,999999999999999,CNY,"))
    err = StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_open_items", str(path), stdout=StringIO(), stderr=err)
    assert refused.value.returncode == 1 and LEDGER_FULL in err.getvalue()
    assert not Invoice.objects.filter(number="LAST").exists()
