"""The 货不对版 pages: list, detail, events, state changes, scans and dispute packs (CSV and PDF, zh and
en); admin and finance write, auditors read, sales and support are refused."""

import csv
import io
import subprocess
from datetime import timedelta

import pytest
from django.urls import reverse

from accounts.models import StaffRole
from billing.upstream.mismatch.services import mismatch_scan
from billing.upstream.models import MismatchFlag
from tests.billing.factories import staff
from tests.billing.upstream.mismatch.factories import DAY, at, record, vendor_row
from tests.billing.upstream.mismatch.test_shift import _history, _target

pytestmark = pytest.mark.django_db

M = 1_000_000


@pytest.fixture
def flags(world):
    """One flag of each signal on DAY: ant-a's responses (reported model), ant-a's prompts (shift),
    ant-b's charges (price table)."""
    _history(world)
    _target(world, prompt=1400)
    world.ingest(
        [record(f"wrong-{i}", channel="ant-a", when=at(DAY, 12, i), reported="glm-4.6") for i in range(6)]
    )
    vendor_row(world.channels[1], world.haiku, cost="90", input_tokens=M, output_tokens=M)
    mismatch_scan(date_from=DAY, date_to=DAY)
    return {flag.signal: flag for flag in MismatchFlag.objects.all()}


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode())))


def test_list_filters_sorts_and_pages(client, world):
    # 30 days on which ant-b bills haiku at opus's prices: 30 flags.
    for d in range(30):
        vendor_row(
            world.channels[1],
            world.haiku,
            day=DAY - timedelta(days=d),
            cost="90",
            input_tokens=M,
            output_tokens=M,
        )
    mismatch_scan(date_from=DAY - timedelta(days=29), date_to=DAY)
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("upstream-mismatch-list"))
    assert page.status_code == 200 and page.context["page_obj"].paginator.count == 30
    assert len(page.context["page_obj"]) == 25
    assert 'data-testid="mismatch-scan-form"' in page.content.decode()
    oldest = client.get(reverse("upstream-mismatch-list"), {"o": "day"}).context["page_obj"][0]
    assert oldest.day == DAY - timedelta(days=29)
    ranged = client.get(
        reverse("upstream-mismatch-list"),
        {
            "start": (DAY - timedelta(days=2)).isoformat(),
            "end": DAY.isoformat(),
            "signal": "price_table",
            "state": "open",
            "model": "haiku",
            "channel": world.channels[1].pk,
        },
    )
    assert ranged.context["page_obj"].paginator.count == 3
    assert (
        client.get(reverse("upstream-mismatch-list"), {"channel": world.channels[0].pk})
        .context["page_obj"]
        .paginator.count
        == 0
    )
    assert client.get(reverse("upstream-mismatch-list"), {"page": 2}).context["page_obj"].number == 2


def test_detail_shows_each_signals_evidence(client, flags):
    client.force_login(staff(StaffRole.FINANCE))
    reported = client.get(
        reverse("upstream-mismatch-detail", args=[flags["reported_model"].pk])
    ).content.decode()
    assert "glm-4.6" in reported and "wrong-0" in reported and "6 of 6 responses" in reported
    assert reverse("upstream-mismatch-events", args=[flags["reported_model"].pk]) in reported
    shifted = client.get(
        reverse("upstream-mismatch-detail", args=[flags["distribution_shift"].pk])
    ).content.decode()
    # 50 requests of 1,400 prompt tokens and the 6 answered by another model, of 1,000
    assert "1357.14" in shifted and "1000.00" in shifted and "Prompt tokens per request" in shifted
    priced = client.get(reverse("upstream-mismatch-detail", args=[flags["price_table"].pk])).content.decode()
    assert "claude-opus" in priced and "93.33%" in priced and "contract price" in priced
    assert client.get(reverse("upstream-mismatch-detail", args=[999999])).status_code == 404


def test_events_page_lists_the_requests_answered_by_another_model(client, flags):
    client.force_login(staff(StaffRole.ADMIN))
    page = client.get(reverse("upstream-mismatch-events", args=[flags["reported_model"].pk]))
    assert [e.request_id for e in page.context["page_obj"]] == [f"wrong-{i}" for i in range(6)]
    assert "glm-4.6" in page.content.decode()


def test_finance_disputes_and_dismisses_with_a_note(client, flags):
    flag = flags["price_table"]
    client.force_login(staff(StaffRole.FINANCE))
    url = reverse("upstream-mismatch-state", args=[flag.pk])
    refused = client.post(url, {"state": "dismissed", "note": ""})
    assert refused.status_code == 400 and "Say why the flag is dismissed." in refused.content.decode()
    bad = client.post(url, {"state": "closed"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    done = client.post(url, {"state": "disputed", "note": "Sent to the vendor on 21 May"})
    assert done.status_code == 302
    flag.refresh_from_db()
    assert (flag.state, flag.note) == ("disputed", "Sent to the vendor on 21 May")


def test_flag_csv_per_signal(client, flags):
    client.force_login(staff(StaffRole.FINANCE))

    def rows(signal):
        response = client.get(
            reverse("upstream-mismatch-flag-pack", args=[flags[signal].pk]), {"format": "csv"}
        )
        assert response.status_code == 200 and response["Content-Type"] == "text/csv"
        return _csv(response)

    events = rows("reported_model")
    assert [r["reference"] for r in events] == [f"wrong-{i}" for i in range(6)]
    assert {(r["row"], r["requested_model"], r["reported_model"], r["prompt_tokens"]) for r in events} == {
        ("event", "claude-opus", "glm-4.6", "1000")
    }
    daily = rows("distribution_shift")
    assert (
        daily[0]["row"] == "day"
        and daily[0]["prompt_per_request"] == "1357.14"
        and daily[0]["requests"] == "56"
    )
    assert len([r for r in daily if r["row"] == "history"]) == 21
    (vendor,) = rows("price_table")
    assert (vendor["row"], vendor["matched_model"], vendor["vendor_cost"], vendor["currency"]) == (
        "vendor_row",
        "claude-opus",
        "90.000000000000",
        "CNY",
    )
    assert (
        client.get(
            reverse("upstream-mismatch-flag-pack", args=[flags["price_table"].pk]), {"format": "xls"}
        ).status_code
        == 400
    )


def test_flag_pdf_in_english_and_chinese(client, flags):
    client.force_login(staff(StaffRole.AUDITOR))
    url = reverse("upstream-mismatch-flag-pack", args=[flags["reported_model"].pk])
    english = client.get(url, {"format": "pdf", "lang": "en"})
    assert english["Content-Disposition"].endswith('-en.pdf"')
    text = _pdf_text(english.content)
    assert "Model mismatch dispute" in text and "ant-a" in text and "glm-4.6" in text and "wrong-0" in text
    assert "Anthropic" in text and "6 of 6 responses" in text
    chinese = client.get(url, {"format": "pdf", "lang": "zh-hans"})
    assert chinese["Content-Disposition"].endswith('-zh.pdf"')
    text = _pdf_text(chinese.content)
    assert "ant-a" in text and "glm-4.6" in text and "期间" in text and "生成于" in text
    assert "Period" not in text


def test_month_pack_for_a_channel(client, flags):
    client.force_login(staff(StaffRole.FINANCE))
    url = reverse("upstream-mismatch-pack")
    month = DAY.strftime("%Y-%m")
    rows = _csv(
        client.get(url, {"channel": flags["reported_model"].channel.pk, "month": month, "fmt": "csv"})
    )
    assert {r["signal"] for r in rows} == {"reported_model", "distribution_shift"}
    pdf = client.get(
        url, {"channel": flags["reported_model"].channel.pk, "month": month, "fmt": "pdf", "lang": "en"}
    )
    text = _pdf_text(pdf.content)
    assert (
        f"Finding {flags['reported_model'].pk}" in text
        and f"Finding {flags['distribution_shift'].pk}" in text
    )
    assert "Finding" in text and month in text


def test_month_pack_answers_bad_input_with_its_field_and_an_empty_month_with_a_message(client, flags):
    client.force_login(staff(StaffRole.FINANCE))
    url = reverse("upstream-mismatch-pack")
    bad = client.get(url, {"channel": flags["price_table"].channel.pk, "month": "2026-13", "fmt": "csv"})
    assert bad.status_code == 400 and "the month must be 01 to 12" in bad.content.decode()
    quarter = client.get(url, {"channel": flags["price_table"].channel.pk, "month": "2026-Q2", "fmt": "csv"})
    assert quarter.status_code == 400 and "one month" in quarter.content.decode()
    empty = client.get(
        url, {"channel": flags["price_table"].channel.pk, "month": "2026-04", "fmt": "pdf"}, follow=True
    )
    assert "has no open or disputed flags in 2026-04" in empty.content.decode()
    # A dismissed flag is not raised with the vendor.
    flags["price_table"].state = MismatchFlag.State.DISMISSED
    flags["price_table"].save()
    empty = client.get(
        url, {"channel": flags["price_table"].channel.pk, "month": "2026-05", "fmt": "csv"}, follow=True
    )
    assert "has no open or disputed flags in 2026-05" in empty.content.decode()


def test_scan_from_the_page(client, world):
    vendor_row(world.channels[1], world.haiku, cost="90", input_tokens=M, output_tokens=M)
    client.force_login(staff(StaffRole.FINANCE))
    url = reverse("upstream-mismatch-scan")
    done = client.post(url, {"date_from": DAY.isoformat(), "date_to": DAY.isoformat()}, follow=True)
    assert "1 new flags" in done.content.decode() and MismatchFlag.objects.count() == 1
    backwards = client.post(
        url, {"date_from": DAY.isoformat(), "date_to": (DAY - timedelta(days=1)).isoformat()}
    )
    assert backwards.status_code == 400 and "The last day is before the first." in backwards.content.decode()
    long = client.post(url, {"date_from": (DAY - timedelta(days=40)).isoformat(), "date_to": DAY.isoformat()})
    assert long.status_code == 400 and "mismatch_scan command" in long.content.decode()
    assert client.post(url, {"date_from": "yesterday", "date_to": ""}).status_code == 400


def test_auditors_read_but_do_not_write(client, flags):
    client.force_login(staff(StaffRole.AUDITOR))
    flag = flags["price_table"]
    page = client.get(reverse("upstream-mismatch-detail", args=[flag.pk]))
    assert page.status_code == 200 and "mismatch-state-form" not in page.content.decode()
    assert "mismatch-scan-form" not in client.get(reverse("upstream-mismatch-list")).content.decode()
    assert (
        client.post(reverse("upstream-mismatch-state", args=[flag.pk]), {"state": "disputed"}).status_code
        == 403
    )
    assert (
        client.post(reverse("upstream-mismatch-scan"), {"date_from": DAY, "date_to": DAY}).status_code == 403
    )
    flag.refresh_from_db()
    assert flag.state == MismatchFlag.State.OPEN


@pytest.mark.parametrize("role", [StaffRole.SALES, StaffRole.SUPPORT])
def test_sales_and_support_are_refused(client, flags, role):
    client.force_login(staff(role))
    flag = flags["reported_model"]
    for url in (
        reverse("upstream-mismatch-list"),
        reverse("upstream-mismatch-detail", args=[flag.pk]),
        reverse("upstream-mismatch-events", args=[flag.pk]),
        reverse("upstream-mismatch-flag-pack", args=[flag.pk]) + "?format=csv",
        reverse("upstream-mismatch-pack") + f"?channel={flag.channel_id}&month=2026-05&fmt=pdf",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(
            reverse("upstream-mismatch-state", args=[flag.pk]), {"state": "dismissed", "note": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(reverse("upstream-mismatch-scan"), {"date_from": DAY, "date_to": DAY}).status_code == 403
    )
    flag.refresh_from_db()
    assert flag.state == MismatchFlag.State.OPEN


def test_anonymous_visitors_are_sent_to_log_in(client, flags):
    response = client.get(reverse("upstream-mismatch-list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_list_rows_summarise_each_signal(client, flags):
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(reverse("upstream-mismatch-list"), {"o": "signal"}).content.decode()
    assert "6 of 6 responses (100.00%) named another model:" in page and "glm-4.6" in page
    assert "Prompt tokens per request 1357.14 against 1000.00 elsewhere" in page
    assert "Charged at claude-opus's prices (93.33% off the named model's)" in page


def test_vendor_rows_link_to_their_import(client, world):
    from billing.upstream.models import UpstreamImport

    upload = UpstreamImport.objects.create(
        fmt="generic", filename="day.csv", sha256="0" * 64, state="applied"
    )
    row = vendor_row(world.channels[1], world.haiku, cost="90", input_tokens=M, output_tokens=M)
    row.source_import = upload
    row.save()
    mismatch_scan(date_from=DAY, date_to=DAY)
    client.force_login(staff(StaffRole.FINANCE))
    page = client.get(
        reverse("upstream-mismatch-detail", args=[MismatchFlag.objects.get().pk])
    ).content.decode()
    assert reverse("upstream-import-detail", args=[upload.pk]) in page


def test_pack_csv_cells_cannot_start_a_formula(client, world):
    from catalog.services.contracts import channel_create

    channel_create(contract=world.contract, name="=chan")
    world.ingest(
        [record(f"=1+{i}", channel="=chan", when=at(DAY, 3, i), reported="@SUM(1+1)") for i in range(3)]
    )
    mismatch_scan(date_from=DAY, date_to=DAY)
    flag = MismatchFlag.objects.get(channel__name="=chan")
    client.force_login(staff(StaffRole.FINANCE))
    body = client.get(reverse("upstream-mismatch-flag-pack", args=[flag.pk]), {"format": "csv"})
    rows = _csv(body)
    assert {(r["channel"], r["reported_model"]) for r in rows} == {("'=chan", "'@SUM(1+1)")}
    assert sorted(r["reference"] for r in rows) == ["'=1+0", "'=1+1", "'=1+2"]
