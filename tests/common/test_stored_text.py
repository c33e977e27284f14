"""Stored text: a message key and its parameters rendered in the reader's language (common.stored_text)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext

from common import stored_text
from common.stored_text import (
    choice,
    day,
    field_name,
    messages_register,
    messages_registered,
    money,
    stored,
    stored_render,
)

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.fixture
def test_messages():
    keys = {"test.topup": "Top-up %(amount)s on %(day)s", "test.term": "%(field)s: %(old)s → %(new)s"}
    messages_register(keys)
    yield
    for key in keys:
        stored_text._MESSAGES.pop(key)


def test_stored_makes_json_and_refuses_an_unknown_key(test_messages):
    message = stored("test.topup", amount=money(Decimal("1324.3137065"), "CNY"), day=day(date(2026, 11, 30)))
    assert message == {
        "key": "test.topup",
        "params": {
            "amount": {"money": "1324.3137065", "currency": "CNY"},
            "day": {"day": "2026-11-30"},
        },
    }
    with pytest.raises(KeyError, match="not registered"):
        stored("test.nowhere")


def test_render_rounds_money_and_translates_choices_and_field_names(test_messages):
    message = stored(
        "test.term",
        field=field_name("billing.BillingTerms", "payment_term"),
        old=choice("billing.BillingTerms", "payment_term", "on_receipt"),
        new=choice("billing.BillingTerms", "payment_term", "net"),
    )
    english = stored_render(message, language="en")
    chinese = stored_render(message, language="zh-hans")
    assert "on_receipt" not in english and "→" in english
    assert CJK.search(chinese), chinese
    topup = stored("test.topup", amount=money(Decimal("1324.3137065"), "CNY"), day=day(date(2026, 11, 30)))
    assert "1,324.31" in stored_render(topup, language="en")


def test_render_falls_back_to_the_stored_text():
    assert stored_render(None, "Top-up by card") == "Top-up by card"
    assert stored_render({"key": "gone.key", "params": {}}, "as written") == "as written"


def test_every_registered_message_has_a_chinese_translation_with_the_same_parameters():
    """The stored text of every kind reads in Chinese: a key added without its translation fails here."""
    registered = messages_registered()
    assert registered, "no stored_messages module registered any key"
    missing, mismatched = [], []
    with translation.override("zh-hans"):
        for key, english in sorted(registered.items()):
            chinese = gettext(english)
            if chinese == english or not CJK.search(chinese):
                missing.append(key)
            elif sorted(PLACEHOLDER.findall(chinese)) != sorted(PLACEHOLDER.findall(english)):
                mismatched.append(key)
    assert not missing, f"untranslated stored messages: {missing}"
    assert not mismatched, f"translations whose parameters differ from the English: {mismatched}"
