"""Vendor invoice totals recorded through ``vendor_bill_record``: created, unchanged on re-import, a number
recorded with other figures is a row error, a preview records nothing."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing.upstream.bills import vendor_bill_record
from billing.upstream.imports.services import upstream_import, upstream_import_apply
from billing.upstream.models import VendorBill
from tests.billing.upstream.imports.conftest import sample

pytestmark = pytest.mark.django_db

HEADER = "channel,number,kind,month,amount,currency,issued_on,due_on"


def bills(*rows: str) -> bytes:
    return "\n".join([HEADER, *rows]).encode()


def test_invoices_are_recorded_and_a_second_import_is_unchanged(world):
    record = upstream_import(content=sample("vendor_bills.csv"), filename="bills.csv", fmt="vendor-bills")
    assert (record.state, record.rows, record.created, record.rejected) == ("applied", 2, 2, 0), record.errors
    bill = VendorBill.objects.get(number="MS-2026-11-0042")
    assert (bill.channel, bill.amount, bill.currency, str(bill.month)) == (
        world["channels"]["kimi-main"],
        Decimal("1234.56"),
        "CNY",
        "2026-11-01",
    )
    assert str(bill.due_on) == "2026-12-31" and bill.transaction_id is not None
    # No due date: the contract's payment terms (30 days) from the issue date.
    assert str(VendorBill.objects.get(number="MS-2026-11-0043").due_on) == "2027-01-01"
    again = upstream_import(content=sample("vendor_bills.csv"), filename="bills.csv", fmt="vendor-bills")
    assert (again.created, again.unchanged, VendorBill.objects.count()) == (0, 2, 2)


def test_a_number_recorded_with_other_figures_is_a_row_error_and_other_rows_are_kept(world):
    upstream_import(content=sample("vendor_bills.csv"), filename="bills.csv", fmt="vendor-bills")
    record = upstream_import(
        content=bills(
            "kimi-main,MS-2026-11-0042,usage,2026-11,1300.00,CNY,2026-12-02,2026-12-31",
            "kimi-main,MS-2026-12-0001,usage,2026-12,99.00,CNY,2027-01-02,",
            "nowhere,X-1,usage,2026-12,1.00,CNY,2027-01-02,",
            "kimi-main,X-2,rent,2026-12,1.00,CNY,2027-01-02,",
        ),
        filename="b.csv",
        fmt="vendor-bills",
    )
    assert (record.created, record.rejected) == (1, 3)
    errors = {e["row"]: e for e in record.errors}
    assert errors[2]["field"] == "amount"
    assert errors[4]["message"] == "'nowhere' is no channel's name or alias."
    assert errors[5]["field"] == "kind"
    assert VendorBill.objects.get(number="MS-2026-11-0042").amount == Decimal("1234.56")
    assert VendorBill.objects.filter(number="MS-2026-12-0001").exists()


def test_a_preview_records_no_invoice_and_shows_what_would_be(world):
    preview = upstream_import(
        content=sample("vendor_bills.csv"), filename="bills.csv", fmt="vendor-bills", preview=True
    )
    assert (preview.state, preview.created) == ("preview", 2)
    assert [p.outcome for p in preview.plan.planned] == ["created", "created"]
    assert not VendorBill.objects.exists()
    applied = upstream_import_apply(preview)
    assert (applied.state, applied.created, VendorBill.objects.count()) == ("applied", 2, 2)


def test_bad_bill_values_are_row_errors(world):
    record = upstream_import(
        content=bills(
            "kimi-main,A-1,usage,2026/11,1.00,CNY,2026-12-02,",
            "kimi-main,A-2,usage,2026-11,-1.00,CNY,2026-12-02,",
            "kimi-main,A-3,usage,2026-11,1.00,CNY,02.12.2026,",
        ),
        filename="b.csv",
        fmt="vendor-bills",
        channel=world["channels"]["kimi-main"],
    )
    fields = {e["row"]: e["field"] for e in record.errors}
    assert fields == {2: "month", 3: "amount", 4: "issued_on"} and record.created == 0


def test_an_issue_date_whose_due_date_is_past_the_calendar_is_a_field_error(world):
    # Recorded directly (the import refuses such a year before): issued 9999-12-31 plus 30 days of terms
    # overflows the calendar, which must be a field error, not a crash.
    with pytest.raises(ValidationError) as refused:
        vendor_bill_record(
            channel=world["channels"]["kimi-main"],
            number="Y-9999",
            kind="usage",
            month=date(2026, 11, 1),
            amount=Decimal("1.00"),
            currency="CNY",
            issued_on=date(9999, 12, 31),
        )
    assert list(refused.value.message_dict) == ["issued_on"]
    assert "9999-12-31" in refused.value.message_dict["issued_on"][0]
    assert not VendorBill.objects.exists()
