"""``manage.py import_open_items``: text and JSON output, --dry-run writing nothing, exit statuses 0 and 1."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.invoicing.models import Invoice
from billing.opening.models import OpeningImport
from tests.billing.opening.conftest import opening_csv

pytestmark = pytest.mark.django_db


def write(tmp_path, content: bytes, name="open.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def run(*args):
    out, err = StringIO(), StringIO()
    call_command("import_open_items", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_applies_and_says_what_it_created_and_the_totals(acme, tmp_path):
    path = write(tmp_path, opening_csv("receivables", "acme,OLD-1,2026-09-15,2026-10-15,12800.00,CNY,Sept"))
    out, err = run(path, "--format", "csv")
    assert "open.csv (receivables): 1 rows; 1 new, 0 already imported, 0 in error." in out
    assert "  created   row 2: acme OLD-1 2026-09-15 due 2026-10-15 12800.00 CNY" in out
    assert "Total CNY: 12800.00 in 1 rows, 12800.00 of it new." in out
    assert "Applied: 1 created, 0 already imported" in out and err == ""
    out, _err = run(path, "--format", "csv")
    assert "  unchanged row 2:" in out and "Applied: 0 created, 1 already imported" in out
    assert Invoice.objects.filter(number="OLD-1").count() == 1


def test_dry_run_writes_nothing(acme, tmp_path):
    path = write(tmp_path, opening_csv("receivables", "acme,OLD-1,2026-09-15,,10.00,CNY,"))
    out, _err = run(path, "--dry-run")
    record = OpeningImport.objects.get()
    assert record.state == "preview" and not Invoice.objects.exists()
    assert f"Dry run: nothing was written. Apply it on the page /opening-balances/{record.pk}/" in out


def test_json_output_and_exit_status_1_with_errors_applying_nothing(acme, tmp_path):
    path = write(
        tmp_path,
        opening_csv("receivables", "acme,OLD-1,2026-09-15,,10.00,CNY,", "acme,OLD-2,2026-09-15,,1.234,CNY,"),
    )
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_open_items", path, "--format", "csv", "--output", "json", stdout=out)
    assert raised.value.returncode == 1
    assert str(raised.value) == "open.csv: 1 error(s) in 1 row(s); nothing was applied."
    report = json.loads(out.getvalue())
    assert (report["state"], report["created"], report["rejected"], report["kind"]) == (
        "refused",
        0,
        1,
        "receivables",
    )
    assert report["errors"] == [
        {"row": 3, "field": "amount", "message": "CNY amounts have at most 2 decimal places, not 1.234."}
    ]
    assert report["items"][0] == {
        "row": 2,
        "outcome": "created",
        "customer": "acme",
        "document": "OLD-1",
        "issue_date": "2026-09-15",
        "due_date": "2026-10-15",
        "amount": "10.00",
        "currency": "CNY",
        "description": "",
        "errors": [],
    }
    assert report["totals"] == {"CNY": {"rows": 1, "amount": "10.00", "new": "10.00"}}
    assert not Invoice.objects.exists()


def test_text_errors_go_to_stderr_with_row_and_field(prepaid, tmp_path):
    path = write(
        tmp_path, opening_csv("deposits", "pre,D-1,2026-11-30,5,EUR,", "nobody,D-2,2026-11-30,5,CNY,")
    )
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("import_open_items", path, "--kind", "deposits", stdout=out, stderr=err)
    assert err.getvalue().splitlines() == [
        "  row 2, currency: Pre Paid's wallet is in CNY, not EUR: a deposit is held in it.",
        "  row 3, customer: No customer has the code 'nobody'.",
    ]
    assert "Nothing was applied: fix the errors and run it again." in out.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"customer,document,amount\n", "missing column(s) issue_date, due_date, currency"),
        (b"PK\x03\x04\x14\x00", "This is an Excel workbook"),
    ],
)
def test_a_file_that_cannot_be_read_exits_1(acme, tmp_path, content, message):
    path = write(tmp_path, content)
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_open_items", path, "--output", "json", stdout=out, stderr=err)
    assert raised.value.returncode == 1
    (error,) = json.loads(out.getvalue())["errors"]
    assert error["row"] == 0 and error["field"] == "file" and message in error["message"]


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot read .*nope\.csv: No such file or directory\."):
        run(str(tmp_path / "nope.csv"))


def test_a_refused_file_is_said_in_text_too(tmp_path):
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("import_open_items", write(tmp_path, b""), stdout=out, stderr=err)
    assert str(raised.value) == "open.csv: 1 error(s) in the file; nothing was applied."
    assert err.getvalue() == "  The file is empty.\n"
    assert out.getvalue() == "Nothing was applied: fix the errors and run it again.\n"
