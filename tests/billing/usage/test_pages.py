"""Usage pages: staff overview and per-customer usage, the portal, the unrated queue, uploads."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse

from accounts.models import Customer, StaffRole
from billing.usage.models import RatingState, UsageDaily, UsageEvent, UsageUpload
from billing.usage.services import usage_batch_ingest
from tests.billing.factories import staff
from tests.billing.usage.conftest import top_up
from tests.billing.usage.factories import AT, alias_add, customer_make, event, priced_model
from tests.factories import MembershipFactory, SubDistributorFactory

pytestmark = pytest.mark.django_db

PERIOD = {"start": "2026-05-01", "end": "2026-05-31"}


@pytest.fixture
def usage(source, prepaid, model):
    """Two customers with rated usage on two days and two models, plus one unrated event."""
    priced_model("gpt-mini", sell_input="4", sell_output="16", cost_input="3", cost_output="9")
    other = customer_make(key="key-b")
    top_up(prepaid, Decimal("100"))
    top_up(other, Decimal("100"))
    usage_batch_ingest(
        source=source,
        records=[
            event("a1"),
            event("a2", model="gpt-mini", prompt=2000, completion=100),
            event("a3", at=AT + timedelta(days=1), prompt=300, completion=40, cache_read_tokens=100),
            event("b1", key="key-b", prompt=5000, completion=2500),
            event("u1", model="ds-chat"),
        ],
    )
    return prepaid, other


def _rollup_sum(field: str, **filters):
    return UsageDaily.objects.filter(**filters).aggregate(s=Sum(field))["s"]


def test_overview_totals_equal_the_rollup_sums(client, usage):
    client.force_login(staff(StaffRole.SALES))

    response = client.get(reverse("staff-usage"), PERIOD)

    assert response.status_code == 200
    totals = response.context["totals"]
    [cny] = totals.by_currency
    assert cny["sell"] == _rollup_sum("sell_amount") and cny["cost"] == _rollup_sum("cost_amount")
    assert cny["margin"] == cny["sell"] - cny["cost"]
    assert totals.overall["requests"] == _rollup_sum("requests") == 4  # the unrated event is not in rollups
    assert totals.overall["prompt_tokens"] == _rollup_sum("prompt_tokens")
    page = response.content.decode()
    assert f'data-value="{cny["sell"]}"' in page
    # the table by model and the chart per day read the same rollups
    by_model = {row["model__name"]: row for row in response.context["page_obj"]}
    assert set(by_model) == {"deepseek-chat", "gpt-mini"}
    assert by_model["gpt-mini"]["sell"] == _rollup_sum("sell_amount", model__name="gpt-mini")
    assert sum(Decimal(v) for v in response.context["chart"]["sell"]) == cny["sell"]
    assert len(response.context["chart"]["labels"]) == 31
    assert [r["customer_id"] for r in response.context["by_customer"]] == [usage[1].pk, usage[0].pk]


def test_overview_filters_by_customer_and_sorts_by_column(client, usage):
    prepaid, _other = usage
    client.force_login(staff(StaffRole.SUPPORT))

    response = client.get(reverse("staff-usage"), {**PERIOD, "customer": prepaid.pk, "o": "model"})

    assert response.context["totals"].overall["requests"] == 3
    assert [r["model__name"] for r in response.context["page_obj"]] == ["deepseek-chat", "gpt-mini"]
    response = client.get(reverse("staff-usage"), {**PERIOD, "customer": prepaid.pk, "o": "-model"})
    assert [r["model__name"] for r in response.context["page_obj"]] == ["gpt-mini", "deepseek-chat"]


def test_overview_date_range_limits_the_totals(client, usage):
    client.force_login(staff(StaffRole.SALES))
    day = AT.date() + timedelta(days=1)
    response = client.get(reverse("staff-usage"), {"start": day, "end": day})
    assert response.context["totals"].overall["requests"] == _rollup_sum("requests", day=day) == 1


def test_customer_usage_page_is_linked_from_the_customer(client, usage):
    prepaid, _other = usage
    client.force_login(staff(StaffRole.SALES))
    detail = client.get(reverse("staff-customer-detail", args=[prepaid.pk])).content.decode()
    assert reverse("staff-customer-usage", args=[prepaid.pk]) in detail

    response = client.get(reverse("staff-customer-usage", args=[prepaid.pk]), PERIOD)

    assert response.status_code == 200
    [cny] = response.context["totals"].by_currency
    assert cny["sell"] == _rollup_sum("sell_amount", customer=prepaid)
    days = {d["day"]: d["requests"] for d in response.context["days"]}
    assert days == {AT.date(): 2, AT.date() + timedelta(days=1): 1}
    assert b"usage-by-day" in response.content and b"chart-money" in response.content


def test_portal_usage_shows_own_data_without_cost(client, usage):
    prepaid, _other = usage
    client.force_login(MembershipFactory(customer=prepaid).user)

    response = client.get(reverse("portal-usage"), PERIOD)

    assert response.status_code == 200
    [cny] = response.context["totals"].by_currency
    assert cny["sell"] == _rollup_sum("sell_amount", customer=prepaid)
    assert response.context["totals"].overall["requests"] == 3
    page = response.content.decode()
    assert "usage-money" not in page and "Margin" not in page  # cost is not the customer's business
    assert reverse("portal-usage") in page  # the nav link
    assert client.get(reverse("portal-usage"), {**PERIOD, "o": "cost"}).status_code == 200


def test_customer_user_gets_404_for_another_customers_usage(client, usage):
    prepaid, other = usage
    client.force_login(MembershipFactory(customer=prepaid).user)
    assert client.get(reverse("portal-usage"), {"customer": other.pk}).status_code == 404
    assert client.get(reverse("portal-usage"), {"customer": "x"}).status_code == 404
    assert client.get(reverse("staff-usage")).status_code == 403
    assert client.get(reverse("staff-customer-usage", args=[other.pk])).status_code == 403


def test_sub_distributor_sees_its_subtree_only(client, source, model):
    sub = SubDistributorFactory(
        chain_mode=Customer.ChainMode.DIRECT
    )  # the operator prices and bills its child
    child = customer_make(key="key-child", parent=sub)
    outsider = customer_make(key="key-out")
    for c in (child, outsider):
        top_up(c, Decimal("100"))
    usage_batch_ingest(source=source, records=[event("c1", key="key-child"), event("o1", key="key-out")])
    client.force_login(MembershipFactory(customer=sub).user)

    whole = client.get(reverse("portal-usage"), PERIOD)
    one = client.get(reverse("portal-usage"), {**PERIOD, "customer": child.pk})

    assert whole.context["totals"].overall["requests"] == 1  # the child's, never the outsider's
    assert one.context["totals"].by_currency[0]["sell"] == _rollup_sum("sell_amount", customer=child)
    assert client.get(reverse("portal-usage"), {"customer": outsider.pk}).status_code == 404
    # the child's own user sees its own usage at what it is charged (its own rows are at its own price)
    client.force_login(MembershipFactory(customer=child).user)
    page = client.get(reverse("portal-usage"), PERIOD)
    assert page.context["totals"].overall["requests"] == 1 and b"total-sell-CNY" in page.content


def test_unrated_list_counts_reasons_and_bulk_rerate_rates_after_the_fix(
    client, usage, model, eager_celery, django_capture_on_commit_callbacks
):
    client.force_login(staff(StaffRole.SUPPORT))
    page = client.get(reverse("staff-usage-unrated"))
    assert page.context["reason_counts"] == [("unknown_model", "Unknown model name", 1)]
    assert "ds-chat" in page.content.decode()

    alias_add(model, "ds-chat")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff-usage-rerate"),
            {"scope": "all", "reason": "unknown_model", "query": "reason=unknown_model"},
        )

    assert response.status_code == 302 and response["Location"].endswith("?reason=unknown_model")
    assert UsageEvent.objects.get(request_id="u1").rating_state == RatingState.RATED
    after = client.get(response["Location"])
    assert "1 event queued for re-rating" in after.content.decode()
    assert after.context["reason_counts"] == [] and after.context["runs"][0].accepted == 1
    assert _rollup_sum("requests") == 5


def test_rerate_selected_events_only(
    client, source, prepaid, model, eager_celery, django_capture_on_commit_callbacks
):
    usage_batch_ingest(source=source, records=[event("x1", model="ds-chat"), event("x2", model="ds-chat")])
    alias_add(model, "ds-chat")
    first = UsageEvent.objects.get(request_id="x1")
    client.force_login(staff(StaffRole.FINANCE))

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff-usage-rerate"), {"scope": "selected", "event": [first.pk]})

    states = dict(UsageEvent.objects.values_list("request_id", "rating_state"))
    assert states == {"x1": RatingState.RATED, "x2": RatingState.UNRATED}


def test_sales_and_auditors_cannot_rerate(client, usage):
    for role in (StaffRole.SALES, StaffRole.AUDITOR):
        client.force_login(staff(role))
        assert client.get(reverse("staff-usage-unrated")).status_code == 200
        assert client.post(reverse("staff-usage-rerate"), {"scope": "all"}).status_code == 403
    assert UsageEvent.objects.filter(rating_state=RatingState.UNRATED).count() == 1


def test_upload_end_to_end_reports_counts_and_the_bad_row(
    client, source, prepaid, model, settings, tmp_path, eager_celery, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    top_up(prepaid, Decimal("100"))
    rows = [event("f1"), event("f2"), {**event("f3"), "prompt_tokens": -5}, event("f1")]
    body = "\n".join(json.dumps(r) for r in rows).encode()
    client.force_login(staff(StaffRole.FINANCE))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff-usage-upload-create"),
            {"source": source.pk, "fmt": "generic", "file": SimpleUploadedFile("usage.ndjson", body)},
        )

    upload = UsageUpload.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "staff-usage-upload", args=[upload.pk]
    )
    assert (upload.state, upload.accepted, upload.duplicates, upload.rejected) == ("done", 2, 1, 1)
    progress = client.get(reverse("staff-usage-upload-progress", args=[upload.pk]))
    html = progress.content.decode()
    assert 'data-state="done"' in html and 'hx-trigger="every 1s"' not in html  # polling stops
    assert 'data-testid="upload-accepted">2<' in html and 'data-testid="upload-rejected">1<' in html
    assert 'data-testid="error-index">2<' in html and "prompt_tokens" in html
    assert "100%" in html
    listing = client.get(reverse("staff-usage-uploads")).content.decode()
    assert reverse("staff-usage-upload", args=[upload.pk]) in listing


def test_progress_partial_polls_while_running(client, source, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = UsageUpload.objects.create(
        source=source,
        fmt="generic",
        file=SimpleUploadedFile("u.ndjson", b"{}"),
        size_bytes=200,
        processed_bytes=50,
        state=UsageUpload.State.RUNNING,
    )
    client.force_login(staff(StaffRole.SALES))
    html = client.get(reverse("staff-usage-upload", args=[upload.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html and "25%" in html


def test_uploads_are_refused_to_sales_and_auditors(client, source, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    for role in (StaffRole.SALES, StaffRole.AUDITOR):
        client.force_login(staff(role))
        page = client.get(reverse("staff-usage-uploads"))
        assert page.status_code == 200 and b"upload-form" not in page.content
        file = SimpleUploadedFile("usage.ndjson", b"{}")
        response = client.post(
            reverse("staff-usage-upload-create"), {"source": source.pk, "fmt": "generic", "file": file}
        )
        assert response.status_code == 403
    assert not UsageUpload.objects.exists()


def test_anonymous_users_are_sent_to_sign_in(client, usage):
    for name in ("staff-usage", "staff-usage-unrated", "staff-usage-uploads", "portal-usage"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_usage_demo_loads_once_and_the_books_agree(settings):
    from billing.wallets.verify import books_problems
    from demo.loader import demo_load

    demo_load()
    events, days = UsageEvent.objects.count(), UsageDaily.objects.count()
    demo_load()

    assert events > 500 and days > 100
    assert (UsageEvent.objects.count(), UsageDaily.objects.count()) == (events, days)
    assert UsageEvent.objects.filter(rating_state=RatingState.UNRATED).exists()
    if (
        settings.IS_POSTGRES
    ):  # SQLite keeps ledger balances in floats (see docs/usage.md); PostgreSQL is exact
        assert books_problems() == []


def test_portal_chart_data_carries_no_cost(client, usage):
    """The chart's JSON is in the page even where no chart draws it: our cost must not be in it."""
    prepaid, _other = usage
    client.force_login(MembershipFactory(customer=prepaid).user)
    page = client.get(reverse("portal-usage"), PERIOD).content.decode()
    data = re.search(r'<script id="usage-chart-data" type="application/json">(.*?)</script>', page)[1]
    chart = json.loads(data)
    assert "cost" not in chart and chart["sell"]

    client.force_login(staff(StaffRole.SALES))
    page = client.get(reverse("staff-usage"), PERIOD).content.decode()
    assert '"cost":' in page  # staff see it (and the money chart plots it)
