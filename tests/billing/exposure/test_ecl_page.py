"""The ECL page: who may see it and who may change the matrix or post, what the preview, the cohort and the
runs list show, and the refusals."""

import datetime as dt
import subprocess

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import MemberRole, StaffRole
from billing.exposure.ecl_post import ecl_post
from billing.exposure.models import EclMatrix, EclRun
from tests.billing.exposure.ecl_helpers import (
    GOLDEN_RATES,
    D,
    allowance_balance,
    as_of_day,
    firer_cohort,
    golden_receivables,
)
from tests.billing.factories import staff
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db
PAGE = "/reports/ecl/"
MATRIX = {
    "method": "entered",
    "rate_current": "11",
    "rate_1_30": "15",
    "rate_31_60": "25",
    "rate_61_90": "31",
    "rate_over_90": "100",
    "forward_adjustment": "0",
    "round_whole": "on",
    "history_months": "24",
}


def client_for(role):
    client = Client()
    client.force_login(staff(role))
    return client


def test_urls():
    assert reverse("exposure-ecl") == PAGE
    assert reverse("exposure-ecl-matrix") == "/reports/ecl/matrix/"
    assert reverse("exposure-ecl-post") == "/reports/ecl/post/"


def test_finance_sees_the_preview_with_the_allowance_held_and_the_change():
    as_of = as_of_day()
    golden_receivables(as_of)
    ecl_post(as_of, origin=EclRun.Origin.BUTTON, rates=[D(0), D(0), D(0), D(25), D(100)])
    EclMatrix.objects.filter(pk=EclMatrix.load().pk).update(
        rate_current=11, rate_1_30=15, rate_31_60=25, rate_61_90=31, rate_over_90=100
    )

    page = client_for(StaffRole.FINANCE).get(PAGE, {"as_of": as_of.isoformat()})

    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="ecl-table-base"' in html
    assert ">178.50<" in html
    assert 'data-testid="ecl-held">100.00<' in html
    assert 'data-testid="ecl-change">78.50<' in html
    assert 'data-testid="ecl-post-form"' in html
    assert "data-confirm=" in html
    assert 'data-testid="ecl-run-journal"' in html


def test_posting_the_change_from_the_button():
    as_of = as_of_day()
    golden_receivables(as_of)
    EclMatrix.objects.filter(pk=EclMatrix.load().pk).update(
        rate_current=11, rate_1_30=15, rate_31_60=25, rate_61_90=31, rate_over_90=100
    )
    client = client_for(StaffRole.FINANCE)

    answer = client.post(reverse("exposure-ecl-post"), {"as_of": as_of.isoformat()}, follow=True)

    assert answer.status_code == 200
    run = EclRun.objects.get()
    assert (run.origin, run.change, run.created_by.staff_role) == ("button", D("178.50"), StaffRole.FINANCE)
    assert "178.50 charged" in answer.content.decode()
    assert allowance_balance() == D("178.50")

    again = client.post(reverse("exposure-ecl-post"), {"as_of": as_of.isoformat()}, follow=True)
    assert "nothing posted again" in again.content.decode()
    assert EclRun.objects.count() == 1


@pytest.mark.parametrize(
    ("as_of", "words"),
    [("", "This field is required"), ("2026-02-30", "Enter a valid date"), ("2999-01-01", "in the future")],
)
def test_a_bad_date_on_the_button_posts_nothing(as_of, words):
    golden_receivables(as_of_day())

    answer = client_for(StaffRole.FINANCE).post(reverse("exposure-ecl-post"), {"as_of": as_of}, follow=True)

    assert words in answer.content.decode()
    assert not EclRun.objects.exists()


def test_a_date_before_the_last_run_is_refused_with_the_reason():
    as_of = as_of_day()
    golden_receivables(as_of)
    ecl_post(as_of, origin=EclRun.Origin.BUTTON, rates=GOLDEN_RATES)
    earlier = (as_of - dt.timedelta(days=3)).isoformat()

    answer = client_for(StaffRole.ADMIN).post(reverse("exposure-ecl-post"), {"as_of": earlier}, follow=True)

    assert "runs go forward in time" in answer.content.decode()
    assert EclRun.objects.count() == 1


def test_saving_the_matrix():
    client = client_for(StaffRole.FINANCE)

    answer = client.post(reverse("exposure-ecl-matrix"), {**MATRIX, "forward_adjustment": "10"})

    assert answer.status_code == 302
    matrix = EclMatrix.load()
    assert matrix.entered_rates == [D(11), D(15), D(25), D(31), D(100)]
    assert matrix.forward_adjustment == D(10)
    assert matrix.updated_by.staff_role == StaffRole.FINANCE


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rate_over_90", "120"),
        ("rate_current", "-1"),
        ("rate_1_30", "ten"),
        ("history_months", "2"),
        ("forward_adjustment", "-150"),
        ("method", "guess"),
    ],
)
def test_a_bad_matrix_is_refused_on_its_field(field, value):
    answer = client_for(StaffRole.FINANCE).post(reverse("exposure-ecl-matrix"), {**MATRIX, field: value})

    assert answer.status_code == 400
    assert field in answer.context["matrix_form"].errors
    assert EclMatrix.load().rate_current == D(1)


def test_the_cohort_table_shows_what_reached_each_bucket():
    as_of = as_of_day()
    firer_cohort(as_of)

    html = client_for(StaffRole.FINANCE).get(PAGE, {"as_of": as_of.isoformat()}).content.decode()

    table = html[html.index('data-testid="ecl-cohort-table"') :]
    for amount in ("100.00", "70.00", "45.00", "35.00", "10.00"):
        assert f">{amount}<" in table
    assert ">14.29%<" in table
    assert ">28.57%<" in table


def test_without_history_the_cohort_says_so():
    html = client_for(StaffRole.FINANCE).get(PAGE).content.decode()
    assert 'data-testid="ecl-cohort-problem"' in html
    assert "No history to derive loss rates from" in html


def test_a_bad_preview_date_is_shown_on_its_field():
    page = client_for(StaffRole.FINANCE).get(PAGE, {"as_of": "2999-01-01"})
    assert page.status_code == 200
    assert 'data-testid="ecl-as-of-error"' in page.content.decode()


def test_the_runs_list_filters_and_sorts():
    as_of = as_of_day()
    golden_receivables(as_of)
    golden_receivables(as_of, code="usd", currency="USD")
    ecl_post(as_of, origin=EclRun.Origin.BUTTON, rates=GOLDEN_RATES)
    client = client_for(StaffRole.AUDITOR)

    usd = client.get(PAGE, {"currency": "usd"})
    by_change = client.get(PAGE, {"o": "-change"})

    assert [run.currency for run in usd.context["page_obj"]] == ["USD"]
    assert len(by_change.context["page_obj"]) == 2


def test_auditors_read_but_are_offered_no_form_and_cannot_write():
    as_of = as_of_day()
    golden_receivables(as_of)
    client = client_for(StaffRole.AUDITOR)

    html = client.get(PAGE, {"as_of": as_of.isoformat()}).content.decode()

    assert 'data-testid="ecl-read-only"' in html
    assert 'data-testid="ecl-post-form"' not in html
    assert "disabled" in html
    assert client.post(reverse("exposure-ecl-post"), {"as_of": as_of.isoformat()}).status_code == 403
    assert client.post(reverse("exposure-ecl-matrix"), MATRIX).status_code == 403
    assert not EclRun.objects.exists()
    assert EclMatrix.load().rate_current == D(1)


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused(role):
    client = client_for(role)
    assert client.get(PAGE).status_code == 403
    assert client.post(reverse("exposure-ecl-post"), {"as_of": as_of_day().isoformat()}).status_code == 403
    assert client.post(reverse("exposure-ecl-matrix"), MATRIX).status_code == 403


def test_portal_users_are_refused_and_anonymous_sent_to_sign_in():
    membership = MembershipFactory(customer=CustomerFactory(), role=MemberRole.OWNER)
    portal = Client()
    portal.force_login(membership.user)
    assert portal.get(PAGE).status_code == 403
    assert portal.post(reverse("exposure-ecl-post"), {"as_of": as_of_day().isoformat()}).status_code == 403
    anonymous = Client().get(PAGE)
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_the_page_is_in_chinese(tmp_path, settings):
    # The catalogue as it stands in the source (the compiled one is rebuilt at release), compiled here.
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    source = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    subprocess.run(["msgfmt", "-o", str(target / "django.mo"), str(source)], check=True)
    settings.LOCALE_PATHS = [tmp_path]
    as_of = as_of_day()
    golden_receivables(as_of)
    client = client_for(StaffRole.FINANCE)

    html = client.get(PAGE, {"as_of": as_of.isoformat()}, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    refused = client.post(
        reverse("exposure-ecl-matrix"), {**MATRIX, "rate_over_90": "120"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
    ).content.decode()

    assert "预期信用损失" in html and "准备矩阵" in html and "过账变动额" in html
    assert "应计提坏账准备" in html and "根据本公司历史推算的损失率" in html
    assert "损失率由财务录入" in html
    assert "前瞻性调整" in refused
