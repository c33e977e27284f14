"""Upload errors are stored with their message key and parameters: the upload page reads in Chinese, row and
field still named; the API keeps its English reasons."""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from accounts.models import StaffRole
from billing.usage.models import UsageUpload
from billing.usage.row_errors import row_reason_stored
from billing.usage.uploads import usage_upload_process
from common.stored_text import stored_render
from tests.billing.factories import staff
from tests.billing.usage.factories import event

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_a_row_reason_is_read_back_into_its_key_and_parameters_nested_reasons_too():
    reason = (
        "reading stopped here: the file is not valid JSON (lexical error); nothing after this point was read"
    )
    message = row_reason_stored(reason)

    assert message["key"] == "usage.row.stopped"
    assert message["params"]["problem"]["key"] == "usage.row.json_invalid_said"
    assert stored_render(message, language="en") == reason
    assert stored_render(message, language="zh-hans") == (
        "读取在此停止：文件不是有效的 JSON（lexical error）；此后的内容均未读取"
    )
    # the catalog's rating refusals are read back too; a reason no template knows keeps its English
    counted = "reasoning_tokens (9) exceed completion_tokens (5); completion_tokens must include them."
    assert row_reason_stored(counted)["key"] == "catalog.rating.reasoning_over_completion"
    assert row_reason_stored("something new") is None


def _upload(source, name: str, body: bytes) -> UsageUpload:
    return UsageUpload.objects.create(
        source=source, fmt="generic", file=SimpleUploadedFile(name, body), size_bytes=len(body)
    )


def test_row_errors_are_stored_with_their_message_and_read_in_chinese(
    client, source, prepaid, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    rows = [
        event("ok"),
        {**event("neg"), "prompt_tokens": -5},
        {**event("img"), "images": 1.5},
        {**event("time"), "occurred_at": "2026-05-01T10:00:00"},
        {**event("over"), "reasoning_tokens": 900},
    ]
    upload = _upload(source, "u.ndjson", "\n".join(json.dumps(r) for r in rows).encode())

    done = usage_upload_process(upload_id=upload.pk)

    assert done.rejected == 4
    by_index = {e["index"]: e for e in done.errors}
    assert by_index[1]["message"]["key"] == "usage.row.negative"
    assert by_index[2]["message"]["key"] == "usage.row.whole_images"
    assert by_index[3]["message"]["key"] == "usage.row.time_offset"
    assert by_index[4]["message"]["key"] == "catalog.rating.reasoning_over_completion"
    for error in done.errors:  # the English as written stays beside it
        assert stored_render(error["message"], language="en") == error["reason"]

    client.force_login(staff(StaffRole.SALES))
    with translation.override("zh-hans"):
        html = client.get(
            reverse("staff-usage-upload", args=[upload.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "不能为负数" in html and "必须是整数张图片" in html and "时间需要带 UTC 偏移" in html
    assert "<code>prompt_tokens</code>" in html and 'data-testid="error-index">1<' in html
    for english in ("must not be negative", "whole number", "needs a UTC offset", "must include them"):
        assert english not in html


def test_a_file_that_cannot_be_read_fails_with_its_reason_in_chinese(client, source, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    upload = _upload(source, "u.zip", b"PK\x03\x04" + b"\x00" * 64)

    failed = usage_upload_process(upload_id=upload.pk)

    assert failed.state == UsageUpload.State.FAILED
    assert failed.error_message == {"key": "usage.file.archive", "params": {"kind": "zip"}}
    assert failed.error.startswith("The file is a zip archive")
    client.force_login(staff(StaffRole.FINANCE))
    with translation.override("zh-hans"):
        html = client.get(
            reverse("staff-usage-upload", args=[upload.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).content.decode()
    assert "该文件是 zip 压缩包" in html and "The file is" not in html
