"""python manage.py ecl: the report as JSON or text, --post, and clear refusals that post nothing."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.exposure.models import EclRun
from billing.ledger.models import JournalTransaction
from catalog.models import FxRate
from tests.billing.exposure.ecl_helpers import D, allowance_balance, as_of_day, golden_receivables

pytestmark = pytest.mark.django_db
GOLDEN = "11,15,25,31,100"


def ecl(*args) -> str:
    out = StringIO()
    call_command("ecl", *args, stdout=out)
    return out.getvalue()


def test_json_has_every_bucket_as_decimal_strings():
    as_of = as_of_day()
    golden_receivables(as_of)

    answer = json.loads(ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--format", "json"))

    assert answer["as_of"] == as_of.isoformat()
    assert answer["base_currency"] == "CNY"
    assert answer["method"] == "given"
    assert answer["buckets"] == [
        {"bucket": "current", "gross": "150.00", "rate": "11", "ecl": "16.50"},
        {"bucket": "d1_30", "gross": "200.00", "rate": "15", "ecl": "30.00"},
        {"bucket": "d31_60", "gross": "80.00", "rate": "25", "ecl": "20.00"},
        {"bucket": "d61_90", "gross": "200.00", "rate": "31", "ecl": "62.00"},
        {"bucket": "d90_plus", "gross": "50.00", "rate": "100", "ecl": "50.00"},
    ]
    assert (answer["total"], answer["gross_total"]) == ("178.50", "680.00")
    assert (answer["prior_allowance"], answer["change"], answer["posted"]) == ("0.00", "178.50", False)
    assert answer["currencies"]["CNY"]["total"] == "178.50"
    assert not EclRun.objects.exists()


def test_post_books_the_change_once():
    as_of = as_of_day()
    golden_receivables(as_of)

    first = json.loads(ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--post"))
    journals = JournalTransaction.objects.count()
    again = json.loads(ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--post"))

    assert first["posted"] is True
    assert first["change"] == "178.50"
    run = EclRun.objects.get()
    assert run.origin == EclRun.Origin.COMMAND
    assert first["currencies"]["CNY"]["journal_transaction"] == run.journal_transaction_id
    assert again["currencies"]["CNY"]["run"] == run.pk
    assert JournalTransaction.objects.count() == journals
    assert allowance_balance() == D("178.50")


def test_base_currency_view_converts_each_currency():
    as_of = as_of_day()
    golden_receivables(as_of)
    golden_receivables(as_of, code="usd", currency="USD")
    FxRate.objects.create(base="USD", quote="CNY", date=as_of, rate=D("7.1"))

    answer = json.loads(ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN))

    # 178.50 CNY + 178.50 USD × 7.1 = 178.50 + 1,267.35.
    assert answer["total"] == "1445.85"
    assert answer["gross_total"] == "5508.00"
    assert answer["currencies"]["USD"]["total"] == "178.50"


def test_text_format_reads_as_a_table():
    as_of = as_of_day()
    golden_receivables(as_of)

    text = ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--format", "text")

    assert "Over 90 days" in text
    assert "178.50" in text
    assert "Allowance held: 0.00" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-13-01"], "--as-of: '2026-13-01' is not a date"),
        (["--as-of", "yesterday"], "--as-of: 'yesterday' is not a date"),
        (["--rates", "11,15,25,31"], "--rates: Give 5 rates"),
        (["--rates", "11,15,25,31,120"], "--rates: Rate 5 is 120%"),
        (["--rates=-1,15,25,31,100"], "--rates: Rate 1 is -1"),
        (["--rates", "11,15,abc,31,100"], "--rates: Rate 3 (abc) is not a number"),
        (["--rates", "11,15,,31,100"], "--rates: Rate 3 (empty) is not a number"),
        (["--format", "xml"], "--format must be json or text"),
        (["--book", "nobody"], "--book: no customer with code 'nobody'"),
    ],
)
def test_bad_input_is_refused_clearly_and_posts_nothing(args, message):
    as_of = as_of_day()
    golden_receivables(as_of)
    argv = ["--as-of", as_of.isoformat(), "--post", *args]

    with pytest.raises(CommandError) as refused:
        ecl(*argv)

    assert message in str(refused.value)
    assert not EclRun.objects.exists()
    assert allowance_balance() == D(0)


def test_a_future_date_is_refused():
    future = as_of_day() + dt.timedelta(days=60)
    with pytest.raises(CommandError, match=r"--as-of: .* is in the future"):
        ecl("--as-of", future.isoformat())


def test_the_exit_code_is_not_zero_on_bad_input():
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "manage.py", "ecl", "--as-of", "2026-01-01", "--rates", "1,2,3,4"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "Give 5 rates" in done.stderr
