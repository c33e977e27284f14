"""What operator pages and commands say matches what happens: a source's page lists the key lookup of every
format it can receive (not only its kind's), a resumable upload's bar is not drawn as working, the stalled
note says the real silence and what resumes it, and ``manage.py ingest --help`` explains every argument and
what a stop leaves."""

import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import StaffRole
from billing.management.commands.ingest import Command as IngestCommand
from billing.usage.connectors.registry import key_lookup
from billing.usage.models import UsageUpload
from tests.billing.factories import staff
from tests.billing.usage.factories import source_make

pytestmark = pytest.mark.django_db


def _order(kind: str) -> str:
    """``kind``'s lookup as the page writes it, in the active language: " 1. key hash 2. key alias …"."""
    return "".join(f" {n}. {step}" for n, step in enumerate(key_lookup(kind), start=1))


def _row(html: str, name: str) -> str:
    rows = [row for row in html.split("<tr>") if f'<td class="fw-semibold">{name}</td>' in row]
    assert len(rows) == 1, name
    return rows[0]


def _others(row: str) -> list[str]:
    """The other formats' lines of a source's row, whitespace collapsed."""
    block = re.search(r'data-testid="key-lookup-others"[^>]*>(.*?)</ul>', row, re.S).group(1)
    return [" ".join(item.split()) for item in re.findall(r"<li>(.*?)</li>", block, re.S)]


def test_a_sources_page_lists_the_key_lookup_of_every_format_the_source_receives(client):
    # A generic source still receives LiteLLM records (/api/v1/usage/litellm, an upload as LiteLLM): those
    # are looked up in LiteLLM's order, which its row must show next to its kind's.
    source_make(name="demo-litellm", kind="generic")
    source_make(name="proxy", kind="litellm")
    client.force_login(staff(StaffRole.SUPPORT))

    with translation.override("en"):
        html = client.get(reverse("staff-gateway-sources")).content.decode()
        generic, litellm, newapi, openrouter = (
            _order(k) for k in ("generic", "litellm", "newapi", "openrouter")
        )
    assert "unless they come in another format (posted to /api/v1/usage/litellm" in html
    row = _row(html, "demo-litellm")
    assert "Customer key lookup: 1. key</div>" in row
    assert _others(row) == [
        f"LiteLLM records:{litellm}",
        f"new-api / one-api records:{newapi}",
        f"OpenRouter records:{openrouter}",
    ]
    assert _others(row)[0].startswith("LiteLLM records: 1. key hash 2. key alias 3. team 4. end user")
    row = _row(html, "proxy")
    assert f"Customer key lookup:{litellm}</div>" in row
    assert _others(row) == [
        f"Generic (canonical events) records:{generic}",
        f"new-api / one-api records:{newapi}",
        f"OpenRouter records:{openrouter}",
    ]

    with translation.override("zh-hans"):
        chinese = client.get(
            reverse("staff-gateway-sources"), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
        litellm, generic = _order("litellm"), _order("generic")
    assert "查找顺序取决于记录的格式" in chinese and "records" not in chinese
    assert _others(_row(chinese, "demo-litellm"))[0] == f"LiteLLM 格式的记录：{litellm}"
    assert litellm.startswith(" 1. 密钥哈希 2. 密钥别名 3. 团队")
    assert _others(_row(chinese, "proxy"))[0] == f"通用（标准事件） 格式的记录：{generic}"


def _upload(
    source, state, heartbeat_minutes_ago: float | None, created_minutes_ago: float = 0
) -> UsageUpload:
    now = timezone.now()
    upload = UsageUpload.objects.create(
        source=source,
        fmt="generic",
        file=SimpleUploadedFile("u.ndjson", b"{}\n{}\n"),
        size_bytes=6,
        processed_bytes=3,
        state=state,
        heartbeat_at=None
        if heartbeat_minutes_ago is None
        else now - timedelta(minutes=heartbeat_minutes_ago),
    )
    UsageUpload.objects.filter(pk=upload.pk).update(created_at=now - timedelta(minutes=created_minutes_ago))
    return upload


def _bar_classes(html: str) -> set[str]:
    return set(re.search(r'<div class="progress-bar ([^"]*)" data-progress', html).group(1).split())


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_stalled_or_unqueued_uploads_bar_is_yellow_and_still_a_running_one_moves(client, media):
    source = source_make()[0]
    running, unqueued = UsageUpload.State.RUNNING, UsageUpload.State.UNQUEUED
    uploads = {
        "stalled": _upload(source, running, 10),
        "never beat": _upload(source, running, None, created_minutes_ago=20),
        "not queued": _upload(source, unqueued, None),
        "alive": _upload(source, running, 0.5),
    }
    client.force_login(staff(StaffRole.FINANCE))

    for name, upload in uploads.items():
        for url in ("staff-usage-upload", "staff-usage-upload-progress"):
            classes = _bar_classes(client.get(reverse(url, args=[upload.pk])).content.decode())
            if name == "alive":
                assert {"progress-bar-striped", "progress-bar-animated"} <= classes, (name, url)
                assert "text-bg-warning" not in classes, (name, url)
            else:
                assert "text-bg-warning" in classes, (name, url)
                assert not classes & {"progress-bar-striped", "progress-bar-animated"}, (name, url)


def test_the_stalled_note_says_the_real_silence_and_what_resumes_it(client, media):
    source = source_make()[0]
    running = UsageUpload.State.RUNNING
    stalled = _upload(source, running, 125)
    never_beat = _upload(source, running, None, created_minutes_ago=20)
    unqueued = _upload(source, UsageUpload.State.UNQUEUED, None)

    def note(upload, testid="upload-stalled-note", language="en") -> str:
        with translation.override(language):
            response = client.get(
                reverse("staff-usage-upload", args=[upload.pk]), HTTP_ACCEPT_LANGUAGE=language
            )
        html = response.content.decode()
        # Spaces and newlines collapsed; timesince's no-break spaces kept.
        return re.sub(
            r"[ \n]+", " ", re.search(rf'data-testid="{testid}">\s*<div>(.*?)</div>', html, re.S).group(1)
        )

    client.force_login(staff(StaffRole.FINANCE))
    text = note(stalled)
    assert text.startswith("No progress for 2\xa0hours, 5\xa0minutes: the worker")
    assert "While the scheduler (Celery beat) runs, its sweep queues the upload again" in text
    assert text.endswith("Or press Resume to queue it now.") and "by itself" not in text
    # A run that never beat: silent since it was uploaded.
    assert note(never_beat).startswith("No progress for 20\xa0minutes:")
    text = note(unqueued, "upload-unqueued-note")
    assert "while the scheduler (Celery beat) runs" in text and "by itself" not in text
    assert text.endswith("Or press Resume once the queue is back.")
    chinese = note(stalled, language="zh-hans")
    assert chinese.startswith("已 2\xa0小时，5\xa0分钟没有进展：") and "调度器（Celery beat）" in chinese
    assert chinese.endswith("也可以点击“继续处理”立即重新排队。")
    assert note(unqueued, "upload-unqueued-note", "zh-hans").endswith("也可以在队列恢复后点击“继续处理”。")

    # Staff who may not resume are not told to press a button they do not have.
    client.force_login(staff(StaffRole.SALES))
    assert "Resume" not in note(stalled) and "Resume" not in note(unqueued, "upload-unqueued-note")


def test_ingest_help_explains_every_argument_and_what_a_stop_leaves():
    parser = IngestCommand().create_parser("manage.py", "ingest")
    own = [a for a in parser._actions if a.dest in ("file", "format", "source")]

    assert len(own) == 3 and all(a.help for a in own)
    text = " ".join(parser.format_help().split())
    assert "litellm (LiteLLM's logging payloads)" in text and "Default: file-<format>." in text
    assert "Ctrl-C (SIGINT) or SIGTERM stops it in order: the chunks committed so far stay committed" in text
    assert "exits with 130 (Ctrl-C) or 143 (SIGTERM)" in text
    assert "Running the same file again finishes it without charging anything twice" in text
