"""Days of cover and the low-cover alert (e-mail and signed webhook, once per channel and day)."""

import json
from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail

from billing.upstream.alerts import cover_alerts
from billing.upstream.cover import balance_by_day, cover_for_channels, days_of_cover, projection
from billing.upstream.daily import upstream_daily_run
from billing.upstream.models import UpstreamSettings
from common.signed_webhooks import SIGNATURE_HEADER, webhook_signature_verify
from tests.billing.upstream.ledger.conftest import buy

pytestmark = pytest.mark.django_db
TODAY = date(2026, 2, 8)


def week_of_usage(usage, requests_per_day=100, account="deepseek-main"):
    for offset in range(1, 8):
        usage(TODAY - timedelta(days=offset), requests_per_day, account=account)


def test_days_of_cover_is_balance_over_the_trailing_weeks_daily_cost(
    channel, usage, django_assert_max_num_queries
):
    buy(channel, "TOPUP", "4", kind="prepayment", bought=date(2026, 1, 20))
    week_of_usage(usage)  # 0.300 a day at contract cost
    usage(TODAY, 500)  # today's usage is not in the trailing week

    channels = list(type(channel).objects.filter(pk=channel.pk).select_related("contract__vendor"))
    with django_assert_max_num_queries(3):  # accounts, aliases, the week's rollups
        cover = cover_for_channels(channels, today=TODAY)[channel.pk]

    assert cover.burn_rate == Decimal("0.3")
    # usage postings drew the week's 2.1 and today's 1.5 at contract cost from the 4 paid in
    assert cover.balance == Decimal("0.4")
    assert cover.days == Decimal("1.3")
    assert cover.runs_out_on == TODAY + timedelta(days=1)
    assert cover.low  # under the channel's 7 days


def test_days_of_cover_figures():
    assert days_of_cover(Decimal("40"), Decimal("3")) == Decimal("13.3")
    assert days_of_cover(Decimal("-1"), Decimal("3")) == 0
    assert days_of_cover(Decimal("40"), Decimal("0")) is None


def test_balance_history_and_projection_to_zero(channel):
    buy(channel, "TOPUP", "10", kind="prepayment", bought=TODAY - timedelta(days=3))
    series = balance_by_day(channel, days=5, today=TODAY)
    assert series[0] == (TODAY - timedelta(days=4), 0)
    assert [b for _d, b in series] == [0, 10, 10, 10, 10]
    cover = cover_for_channels([channel], today=TODAY)[channel.pk]
    assert projection(cover, today=TODAY) == []  # nothing burns: no projection


@pytest.fixture
def alert_settings():
    upstream = UpstreamSettings.load()
    upstream.alert_emails = "ops@example.com\nfinance@example.com\n"
    upstream.webhook_url = "https://hooks.example.com/upstream"
    upstream.webhook_secret = "whsec-test"
    upstream.save()
    return upstream


def test_low_cover_alerts_once_a_day_by_mail_and_signed_webhook(
    channel, usage, alert_settings, django_capture_on_commit_callbacks
):
    buy(channel, "TOPUP", "3", kind="prepayment", bought=date(2026, 1, 20))
    week_of_usage(usage)  # 3 − 2.1 = 0.9 left at 0.3 a day: 3 days, under 7
    sent = []

    def fake_post(url, *, body, headers, timeout):
        sent.append((url, body, headers))
        return mock.Mock(status_code=204)

    with mock.patch("common.signed_webhooks.webhook_post", side_effect=fake_post):
        with django_capture_on_commit_callbacks(execute=True):
            first = cover_alerts(today=TODAY)
        with django_capture_on_commit_callbacks(execute=True):
            again = cover_alerts(today=TODAY)

    assert [c.channel.pk for c in first] == [channel.pk]
    assert again == []
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ops@example.com", "finance@example.com"]
    assert "deepseek-main" in message.subject and "3.0" in message.subject
    assert len(sent) == 1
    url, body, headers = sent[0]
    assert url == "https://hooks.example.com/upstream"
    assert webhook_signature_verify(body=body, header=headers[SIGNATURE_HEADER], secret="whsec-test")
    payload = json.loads(body)
    assert (payload["type"], payload["channel"], payload["days_of_cover"]) == (
        "upstream.cover.low",
        "deepseek-main",
        "3.0",
    )
    assert payload["id"] == f"upstream-cover-{channel.pk}-{TODAY.isoformat()}"

    # the next day alerts again
    with (
        mock.patch("common.signed_webhooks.webhook_post", side_effect=fake_post),
        django_capture_on_commit_callbacks(execute=True),
    ):
        cover_alerts(today=TODAY + timedelta(days=1))
    assert len(mail.outbox) == 2 and len(sent) == 2


def test_no_alert_above_the_threshold_or_without_burn(channel, usage, alert_settings):
    buy(channel, "TOPUP", "1000", kind="prepayment", bought=date(2026, 1, 20))
    assert cover_alerts(today=TODAY) == []  # nothing burns
    week_of_usage(usage)
    assert cover_alerts(today=TODAY) == []  # 997.9 / 0.3 days: far above 7
    assert mail.outbox == []


def test_daily_run_burns_yesterday_and_expires(channel, usage):
    pack = buy(channel, "PACK", "5", credit="5", expires=TODAY)
    usage(TODAY - timedelta(days=1), 1000)
    result = upstream_daily_run(day=TODAY - timedelta(days=1), alerts=False)
    pack.refresh_from_db()
    assert (result.draws, result.expired) == (1, 1)
    assert pack.used_credit == Decimal("3")
    assert pack.expired_credit == Decimal("2")
    again = upstream_daily_run(day=TODAY - timedelta(days=1), alerts=False)
    assert again.expired == 0


def test_upstream_burn_command_runs_a_day_and_refuses_a_bad_one(channel, usage):
    from io import StringIO

    from django.core.management import CommandError, call_command

    pack = buy(channel, "PACK", "5", credit="5", expires=date(2030, 1, 1))
    usage(TODAY - timedelta(days=1), 100)
    out = StringIO()
    call_command("upstream_burn", "--day", (TODAY - timedelta(days=1)).isoformat(), "--no-alerts", stdout=out)
    assert "1 pack draw(s)" in out.getvalue()
    assert pack.draws.get().credit == Decimal("0.3")
    with pytest.raises(CommandError, match="not a date"):
        call_command("upstream_burn", "--day", "2026-02-30")
    with pytest.raises(CommandError, match="has not ended"):
        call_command("upstream_burn", "--day", "2999-01-01")
