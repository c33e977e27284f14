"""A currency without a rate into the base currency: the API, the command and the page still answer every
currency's figures and post per currency; the base view's amounts are null (never a partial sum) and the
pair is named. Only derived rates, which pool the history in the base currency, are refused then."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from accounts.models import StaffRole
from billing.exposure.models import EclMatrix, EclRun
from billing.ledger.models import JournalTransaction
from tests.billing.exposure.ecl_helpers import (
    D,
    allowance_balance,
    as_of_day,
    firer_cohort,
    golden_receivables,
)
from tests.billing.factories import staff

pytestmark = pytest.mark.django_db
URL = "/api/v1/reports/ecl"
PAGE = "/reports/ecl/"
GOLDEN = "11,15,25,31,100"
# The goldens in yen, rounded once per bucket to whole yen, half up: 16.5 → 17, 30, 20, 62, 50.
JPY_TOTAL = "179"
NULL_BUCKETS = [
    {"bucket": key, "gross": None, "rate": rate, "ecl": None}
    for key, rate in zip(["current", "d1_30", "d31_60", "d61_90", "d90_plus"], GOLDEN.split(","), strict=True)
]


@pytest.fixture
def as_of():
    """Golden receivables in CNY and in JPY, and no JPY→CNY rate at all."""
    day = as_of_day()
    golden_receivables(day)
    golden_receivables(day, code="yen", currency="JPY")
    return day


def pair(day: dt.date) -> str:
    return f"JPY→CNY {day:%Y-%m-%d}"


def finance() -> Client:
    client = Client()
    client.force_login(staff(StaffRole.FINANCE))
    return client


def ecl(*args) -> str:
    out = StringIO()
    call_command("ecl", *args, stdout=out)
    return out.getvalue()


def matrix_update(**fields):
    EclMatrix.objects.filter(pk=EclMatrix.load().pk).update(**fields)


def assert_each_currency_and_no_base(answer: dict, day: dt.date):
    assert answer["missing_rates"] == [pair(day)]
    assert answer["buckets"] == NULL_BUCKETS
    assert [answer[k] for k in ("total", "gross_total", "prior_allowance", "change")] == [None] * 4
    assert answer["currencies"]["CNY"]["total"] == "178.50"
    yen = answer["currencies"]["JPY"]
    assert [b["ecl"] for b in yen["buckets"]] == ["17", "30", "20", "62", "50"]
    assert (yen["total"], yen["gross_total"]) == (JPY_TOTAL, "680")


# The API


def test_the_api_answers_each_currency_and_a_null_base_view(as_of):
    answer = finance().get(URL, {"as_of": as_of.isoformat(), "rates": GOLDEN})

    assert answer.status_code == 200
    body = answer.json()
    assert_each_currency_and_no_base(body, as_of)
    assert body["currencies"]["JPY"]["change"] == JPY_TOTAL
    assert not EclRun.objects.exists()


def test_the_api_with_entered_rates_answers_too(as_of):
    matrix_update(rate_current=11, rate_1_30=15, rate_31_60=25, rate_61_90=31, rate_over_90=100)

    body = finance().get(URL, {"as_of": as_of.isoformat()}).json()

    assert body["method"] == "entered"
    assert_each_currency_and_no_base(body, as_of)


def test_every_rate_present_lists_no_missing_rate():
    day = as_of_day()
    golden_receivables(day)

    body = finance().get(URL, {"as_of": day.isoformat(), "rates": GOLDEN}).json()

    assert body["missing_rates"] == []
    assert body["total"] == "178.50"


def test_derived_rates_without_a_rate_for_the_history_are_a_409_naming_the_pairs():
    day = as_of_day()
    firer_cohort(day)
    firer_cohort(day, code="firer-yen", currency="JPY")
    matrix_update(method=EclMatrix.Method.DERIVED)

    answer = finance().get(URL, {"as_of": day.isoformat()})

    assert answer.status_code == 409
    body = answer.json()
    assert body["missing_rates"] == [pair(day)]
    assert "derived from history pooled in CNY" in body["error"]
    assert pair(day) in body["error"]
    # Given rates need no history: the same request with rates is answered.
    assert finance().get(URL, {"as_of": day.isoformat(), "rates": GOLDEN}).status_code == 200


# The command


def test_the_command_json_answers_each_currency(as_of):
    answer = json.loads(ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--format", "json"))

    assert answer["posted"] is False
    assert_each_currency_and_no_base(answer, as_of)
    assert not EclRun.objects.exists()


def test_the_command_posts_each_currency_without_a_rate(as_of):
    answer = json.loads(ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--post"))

    assert answer["posted"] is True
    assert answer["missing_rates"] == [pair(as_of)]
    assert answer["total"] is None
    runs = {run.currency: run for run in EclRun.objects.all()}
    assert set(runs) == {"CNY", "JPY"}
    assert answer["currencies"]["JPY"]["run"] == runs["JPY"].pk
    assert answer["currencies"]["JPY"]["journal_transaction"] == runs["JPY"].journal_transaction_id
    assert {e.currency for e in runs["JPY"].journal_transaction.entries.all()} == {"JPY"}
    assert allowance_balance("JPY") == D(JPY_TOTAL)
    assert allowance_balance("CNY") == D("178.50")

    journals = JournalTransaction.objects.count()
    again = json.loads(ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--post"))
    assert again["currencies"]["JPY"]["run"] == runs["JPY"].pk
    assert JournalTransaction.objects.count() == journals


def test_the_command_text_says_there_is_no_base_total(as_of):
    text = ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--format", "text")

    assert f"No base-currency total: no exchange rate on or before {pair(as_of)}" in text
    assert "In JPY" in text and "In CNY" in text
    assert f"{'Total':<16}{'680':>20}{'':>12}{JPY_TOTAL:>20}" in text
    assert "The change was posted." not in text


def test_the_command_text_with_post_books_each_currency(as_of):
    text = ecl("--as-of", as_of.isoformat(), "--rates", GOLDEN, "--format", "text", "--post")

    jpy = EclRun.objects.get(currency="JPY")
    assert f"Posted: journal transaction #{jpy.journal_transaction_id}" in text
    assert "No base-currency total" in text
    assert "The change was posted." in text
    assert EclRun.objects.count() == 2


@pytest.mark.parametrize("post", [False, True])
def test_the_command_refuses_derived_rates_without_a_rate_and_posts_nothing(post):
    day = as_of_day()
    firer_cohort(day)
    firer_cohort(day, code="firer-yen", currency="JPY")
    matrix_update(method=EclMatrix.Method.DERIVED)
    journals = JournalTransaction.objects.count()

    args = ["--as-of", day.isoformat()] + (["--post"] if post else [])
    with pytest.raises(CommandError, match=f"derived from history pooled in CNY.*{pair(day)}"):
        ecl(*args)

    assert not EclRun.objects.exists()
    assert JournalTransaction.objects.count() == journals


# The page


def test_the_page_shows_each_currency_and_posts_per_currency(as_of):
    matrix_update(rate_current=11, rate_1_30=15, rate_31_60=25, rate_61_90=31, rate_over_90=100)
    client = finance()

    html = client.get(PAGE, {"as_of": as_of.isoformat()}).content.decode()

    assert 'data-testid="ecl-table-base"' not in html
    assert 'data-testid="ecl-table-JPY"' in html and 'data-testid="ecl-table-CNY"' in html
    assert 'data-testid="ecl-missing-rates"' in html
    assert "JPY→CNY" in html
    assert 'data-testid="ecl-post-form"' in html

    answer = client.post(reverse("exposure-ecl-post"), {"as_of": as_of.isoformat()}, follow=True)

    assert answer.status_code == 200
    assert "JPY: 179 required, 0 held: 179 charged." in answer.content.decode()
    assert {run.currency for run in EclRun.objects.all()} == {"CNY", "JPY"}
    assert allowance_balance("JPY") == D(JPY_TOTAL)


def test_the_page_with_derived_rates_says_which_rate_is_missing():
    day = as_of_day()
    firer_cohort(day)
    firer_cohort(day, code="firer-yen", currency="JPY")
    matrix_update(method=EclMatrix.Method.DERIVED)

    html = finance().get(PAGE, {"as_of": day.isoformat()}).content.decode()

    assert 'data-testid="ecl-problem"' in html
    assert pair(day) in html
    assert 'data-testid="ecl-post-form"' not in html
