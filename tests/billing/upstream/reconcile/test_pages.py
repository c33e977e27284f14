"""The reconciliation pages: runs, a run's lines (filter, sort, chart data), a line's drill-down with its
rollups and keyset-paginated raw events, the CSV, "run now"; who may see and do what."""

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Customer, StaffRole
from billing.upstream.models import ReconciliationRun, ReconClass
from billing.upstream.reconcile import selectors
from billing.upstream.reconcile.run import reconcile
from billing.usage.models import GatewaySource
from billing.usage.services import usage_batch_ingest
from tests.billing.factories import staff
from tests.billing.upstream.reconcile.conftest import (
    AFTER_JUNE,
    JUNE,
    X,
    request,
    vendor_month,
    vendor_rows_store,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(month):
    vendor_rows_store(month.channel, vendor_month())
    return reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE).run


def _client(client, role):
    client.force_login(staff(role))
    return client


@pytest.mark.parametrize("role", [StaffRole.ADMIN, StaffRole.FINANCE, StaffRole.AUDITOR])
def test_runs_run_and_line_pages_show_for_admin_finance_and_auditors(client, run, role):
    c = _client(client, role)
    line = run.lines.get(klass=ReconClass.TOKEN_DRIFT)

    runs_page = c.get(reverse("upstream-recon-runs"))
    run_page = c.get(reverse("upstream-recon-run", args=[run.pk]))
    line_page = c.get(reverse("upstream-recon-line", args=[line.pk]))

    assert runs_page.status_code == run_page.status_code == line_page.status_code == 200
    assert runs_page.context["page_obj"].object_list[0] == run
    shown = {
        row["klass"]: (row["lines"], row["value"]) for row in runs_page.context["page_obj"][0].flagged_classes
    }
    assert shown[ReconClass.MODEL_MISMATCH] == (2, "1.250000000000") and ReconClass.MATCHED not in shown
    assert len(shown) == 7
    # auditors read but are not offered the run form
    assert (b'data-testid="recon-run-form"' in runs_page.content) is (role != StaffRole.AUDITOR)
    assert "12.915" in run_page.content.decode()  # the total at stake, to its exact digits
    assert line_page.context["line"] == line


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused_everywhere(client, run, role):
    c = _client(client, role)
    line = run.lines.first()
    urls = [
        reverse("upstream-recon-runs"),
        reverse("upstream-recon-run", args=[run.pk]),
        reverse("upstream-recon-run-csv", args=[run.pk]),
        reverse("upstream-recon-line", args=[line.pk]),
        reverse("upstream-settings"),
    ]
    assert [c.get(url).status_code for url in urls] == [403] * 5
    answer = c.post(reverse("upstream-recon-run-now"), {"date_from": "2026-06-01", "date_to": "2026-06-30"})
    assert answer.status_code == 403


def test_auditors_cannot_run(client, run):
    c = _client(client, StaffRole.AUDITOR)
    answer = c.post(reverse("upstream-recon-run-now"), {"date_from": "2026-06-01", "date_to": "2026-06-30"})
    assert answer.status_code == 403
    assert ReconciliationRun.objects.count() == 1


def test_lines_filter_by_class_and_sort_by_value(client, run):
    c = _client(client, StaffRole.FINANCE)
    url = reverse("upstream-recon-run", args=[run.pk])

    only = c.get(url, {"klass": ReconClass.MISSING_UPSTREAM_DATA})
    by_value = c.get(url, {"o": "-value"})
    by_model = c.get(url, {"model_name": "gpt-y"})

    assert {line.model_name for line in only.context["page_obj"]} == {"gpt-x", "gpt-mini"}
    assert {line.klass for line in only.context["page_obj"]} == {ReconClass.MISSING_UPSTREAM_DATA}
    assert [line.value for line in by_value.context["page_obj"]][:2] == [Decimal("5.30"), Decimal("2.65")]
    assert [line.klass for line in by_model.context["page_obj"]] == [ReconClass.MODEL_MISMATCH]
    assert by_value.context["page_obj"].paginator.count == 61
    chart = by_value.context["chart"]
    assert dict(zip(chart["labels"], chart["lines"], strict=True))[str(ReconClass.MODEL_MISMATCH.label)] == 2


def test_a_bad_filter_answers_with_the_field_error_not_a_500(client, run):
    c = _client(client, StaffRole.FINANCE)
    answer = c.get(reverse("upstream-recon-run", args=[run.pk]), {"day": "2026-13-45", "klass": "nope"})
    assert answer.status_code == 200
    assert answer.context["filter"].errors.keys() >= {"day", "klass"}
    assert answer.context["page_obj"].paginator.count == 0


def test_the_drill_down_shows_the_windows_rollups_and_pages_the_raw_events(client, run):
    c = _client(client, StaffRole.FINANCE)
    line = run.lines.get(day=date(2026, 6, 4), model_name="gpt-x")

    page = c.get(reverse("upstream-recon-line", args=[line.pk]))

    rollups = list(page.context["rollups"])
    assert [(r["hour"].hour, r["requests"], r["completion_tokens"], r["customers"]) for r in rollups] == [
        (10, 1, 200_000, 1)
    ]
    assert rollups[0]["cost"] == Decimal("2.65")
    events = page.context["events"]
    assert [e.request_id for e in events.events] == ["acme-x-2026-06-04"] and events.next_cursor == ""


def test_raw_events_are_keyset_paginated(run):
    month = run.lines.first().channel
    more = [
        request(
            Customer.objects.get(code="acme"),
            f"extra-{n}",
            datetime(2026, 6, 1, 10, n, tzinfo=UTC),
            "gpt-x",
            month.name,
            X,
        )
        for n in range(5)
    ]
    usage_batch_ingest(source=GatewaySource.objects.get(), records=more, idempotency_key="extra")
    line = run.lines.get(day=date(2026, 6, 1), model_name="gpt-x")

    pages, cursor = [], ""
    while True:
        page = selectors.line_events(line, cursor, size=2)
        pages.append([e.request_id for e in page.events])
        if not page.next_cursor:
            break
        cursor = page.next_cursor

    # six events at 10:00–10:04, two a page, oldest first, none twice (two share 10:00: the id breaks the tie)
    assert [len(p) for p in pages] == [2, 2, 2]
    flat = [r for p in pages for r in p]
    assert sorted(flat) == sorted(["acme-x-2026-06-01", *(f"acme-extra-{n}" for n in range(5))])
    assert len(set(flat)) == 6
    assert (
        selectors.line_events(line, cursor="garbage", size=2).events
        == selectors.line_events(line, size=2).events
    )


def test_the_csv_has_every_line_with_both_sides(client, run):
    c = _client(client, StaffRole.AUDITOR)

    answer = c.get(reverse("upstream-recon-run-csv", args=[run.pk]))

    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert len(rows) == 61
    drift = next(r for r in rows if r["class"] == ReconClass.TOKEN_DRIFT)
    assert (drift["day"], drift["model"], drift["ours_output"], drift["theirs_output"]) == (
        "2026-06-04",
        "gpt-x",
        "200000",
        "220000",
    )
    assert Decimal(drift["value_CNY"]) == Decimal("0.16")


def test_run_now_runs_the_range_and_says_so(client, month, django_capture_on_commit_callbacks):
    vendor_rows_store(month.channel, vendor_month())
    c = _client(client, StaffRole.FINANCE)

    with django_capture_on_commit_callbacks(execute=True):
        answer = c.post(
            reverse("upstream-recon-run-now"),
            {"date_from": "2026-06-01", "date_to": "2026-06-07", "channel": month.channel.pk},
            follow=True,
        )

    assert answer.status_code == 200
    run = ReconciliationRun.objects.get()
    assert (run.kind, run.date_from, run.date_to, run.channel) == (
        ReconciliationRun.Kind.MANUAL,
        date(2026, 6, 1),
        date(2026, 6, 7),
        month.channel,
    )
    assert run.created_by.staff_role == StaffRole.FINANCE
    assert "2026-06-01" in answer.content.decode()


def test_run_now_refuses_a_bad_range_on_its_field(client, month):
    c = _client(client, StaffRole.ADMIN)

    backwards = c.post(
        reverse("upstream-recon-run-now"), {"date_from": "2026-06-30", "date_to": "2026-06-01"}
    )
    garbage = c.post(reverse("upstream-recon-run-now"), {"date_from": "June", "date_to": ""})

    assert backwards.status_code == garbage.status_code == 400
    assert backwards.context["run_form"].errors["date_to"]
    assert set(garbage.context["run_form"].errors) == {"date_from", "date_to"}
    assert not ReconciliationRun.objects.exists()
