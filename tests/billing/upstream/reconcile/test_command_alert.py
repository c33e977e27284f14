"""The reconcile command (JSON lines, the text table, clear errors), the scheduled tasks, and the leakage
alert: e-mail and signed webhook, once per run."""

import json
from datetime import date
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from billing.upstream.models import ReconciliationRun, ReconClass, UpstreamSettings
from billing.upstream.reconcile import alerts, tasks
from billing.upstream.reconcile.run import reconcile
from tests.billing.upstream.reconcile.conftest import (
    AFTER_JUNE,
    INJECTED,
    JUNE,
    vendor_month,
    vendor_rows_store,
)

pytestmark = pytest.mark.django_db


def _command(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reconcile", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_json_is_one_object_per_line_with_the_fields_asked_for(month):
    vendor_rows_store(month.channel, vendor_month())

    out, _err = _command("--from", "2026-06-01", "--to", "2026-06-30", "--format", "json")

    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 61
    assert all(list(o) == ["channel", "model", "day", "class", "ours", "theirs", "value"] for o in objects)
    flagged = {(o["day"], o["model"]): (o["class"], o["value"]) for o in objects if o["class"] != "matched"}
    assert flagged == {
        (f"2026-06-{day:02d}", model): (klass, f"{value.normalize():f}")
        for day, (klass, lines) in INJECTED.items()
        for model, value in lines.items()
    }
    drift = next(o for o in objects if o["class"] == ReconClass.TOKEN_DRIFT)
    assert drift["channel"] == "openai-main" and drift["value"] == "0.16"
    assert drift["ours"]["output"] == 200_000 and drift["theirs"]["cost"] == "2.81"
    unbilled = next(o for o in objects if o["class"] == ReconClass.MISSING_UPSTREAM_DATA)
    assert unbilled["theirs"] == {}


def test_rerunning_the_command_stores_nothing_and_says_so(month):
    vendor_rows_store(month.channel, vendor_month())
    _command("--from", "2026-06-01", "--to", "2026-06-30", "--format", "json")

    out, err = _command("--from", "2026-06-01", "--to", "2026-06-30", "--format", "json")

    assert ReconciliationRun.objects.count() == 1
    assert "Nothing changed since run" in err and len(out.splitlines()) == 61


def test_text_lists_what_did_not_match_and_the_totals(month):
    vendor_rows_store(month.channel, vendor_month())

    out, _err = _command("--from", "2026-06-01", "--to", "2026-06-30", "--channel", "OPENAI-MAIN-alias")

    body = out.splitlines()
    assert body[0].split() == [
        "day",
        "channel",
        "model",
        "class",
        "our",
        "tokens",
        "their",
        "tokens",
        "value",
        "CNY",
    ]
    assert sum(1 for line in body if line.startswith("2026-06-")) == 9
    assert any("token_drift" in line and "0.16" in line for line in body)
    assert any(line.split()[:2] == ["matched", "52"] for line in body)
    assert body[-1].split()[:3] == ["at", "stake", "12.915"]
    assert ReconciliationRun.objects.get().channel == month.channel


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-06-31", "--to", "2026-07-01"], "--from: '2026-06-31' is not a date"),
        (["--from", "2026-06-01", "--to", "soon"], "--to: 'soon' is not a date"),
        (["--from", "2026-06-30", "--to", "2026-06-01"], "starts (2026-06-30) after it ends"),
        (["--from", "2026-06-01", "--to", "2026-06-30", "--channel", "nope"], "no channel is named"),
        (["--from", "2026-06-01", "--to", "2026-06-30", "--format", "xml"], "--format must be json or text"),
    ],
)
def test_bad_input_is_a_clear_error(world, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        _command(*args)
    assert not ReconciliationRun.objects.exists()


def test_the_daily_task_reconciles_the_recent_due_days_and_the_monthly_the_closed_month(month):
    vendor_rows_store(month.channel, vendor_month())
    with mock.patch("django.utils.timezone.now", return_value=AFTER_JUNE):
        daily = ReconciliationRun.objects.get(pk=tasks.reconcile_daily_task())
        monthly = ReconciliationRun.objects.get(pk=tasks.reconcile_monthly_task())

    # today (in the operator's zone) and the seven days before it; July 1 is due exactly now, with no
    # usage either side (no lines), July 2 and 3 are not due yet
    assert (daily.kind, daily.date_from, daily.date_to) == ("daily", date(2026, 6, 26), date(2026, 7, 3))
    assert set(daily.lines.values_list("day", flat=True)) == {date(2026, 6, d) for d in range(26, 31)}
    assert (monthly.kind, monthly.date_from, monthly.date_to) == ("monthly", JUNE[0], JUNE[-1])
    assert monthly.lines.count() == 61


@pytest.fixture
def alerting():
    upstream = UpstreamSettings.load()
    upstream.leakage_threshold = Decimal("12.91")
    upstream.alert_emails = "ops@example.com\nfinance@example.com"
    upstream.webhook_url = "https://hooks.example.com/leak"
    upstream.webhook_secret = "s3cret"
    upstream.save()
    return upstream


def test_a_run_past_the_threshold_alerts_once_by_mail_and_signed_webhook(
    month, alerting, django_capture_on_commit_callbacks
):
    vendor_rows_store(month.channel, vendor_month())

    with mock.patch.object(alerts, "signed_webhook_send", return_value=200) as send:
        with django_capture_on_commit_callbacks(execute=True):
            run = reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE).run
        with django_capture_on_commit_callbacks(execute=True):
            again = reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE).run
        tasks.reconcile_alert_task(run.pk)  # a repeated task sends nothing either

    assert again.pk == run.pk
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com", "finance@example.com"]
    assert "12.92" in message.subject and "token_drift: 1" in message.body  # rounded for people
    send.assert_called_once()
    kwargs = send.call_args.kwargs
    assert (kwargs["url"], kwargs["secret"]) == ("https://hooks.example.com/leak", "s3cret")
    assert kwargs["payload"]["id"] == f"recon-leakage-{run.pk}"
    assert kwargs["payload"]["at_stake"] == run.totals["at_stake"]
    run.refresh_from_db()
    assert run.totals["alerted_at"]


def test_a_run_at_the_threshold_does_not_alert(month, alerting, django_capture_on_commit_callbacks):
    alerting.leakage_threshold = Decimal("12.915")
    alerting.save()
    vendor_rows_store(month.channel, vendor_month())

    with (
        mock.patch.object(alerts, "signed_webhook_send") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = reconcile(date_from=JUNE[0], date_to=JUNE[-1], now=AFTER_JUNE).run

    assert mail.outbox == [] and not send.called
    assert "alerted_at" not in run.totals
