"""The Chinese catalogue is complete, and messages built in services come out in the active language."""

import ast
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import pgettext

from billing.wallets.adjustments import wallet_adjust
from billing.wallets.exceptions import WalletError
from billing.wallets.selectors import transaction_kind_label
from catalog.services.imports.csvfile import parse_csv
from catalog.services.validation import price_check

PO_FILE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def po_entries(path: Path) -> list[dict]:
    """Parse a .po file into entries: msgctxt, msgid, msgid_plural, msgstrs, flags; obsolete ones left out."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry = {"msgctxt": None, "msgid": None, "msgid_plural": None, "msgstr": {}, "flags": set()}
        current = None
        obsolete = False
        for line in block.strip().splitlines():
            if line.startswith("#~"):
                obsolete = True
            elif line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                text = ast.literal_eval(line)
                if isinstance(current, tuple):
                    entry["msgstr"][current[1]] += text
                else:
                    entry[current] += text
            else:
                keyword, _, quoted = line.partition(" ")
                text = ast.literal_eval(quoted)
                if keyword.startswith("msgstr"):
                    index = int(keyword[7:-1]) if "[" in keyword else 0
                    current = ("msgstr", index)
                    entry["msgstr"][index] = text
                else:
                    current = keyword
                    entry[keyword] = text
        if entry["msgid"] is not None and not obsolete:
            entries.append(entry)
    return entries


def test_every_message_has_a_chinese_translation_and_none_is_fuzzy():
    entries = [e for e in po_entries(PO_FILE) if e["msgid"]]  # the header has an empty msgid
    assert len(entries) > 800
    untranslated = [e["msgid"] for e in entries if not e["msgstr"] or not all(e["msgstr"].values())]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def test_the_po_parser_sees_contexts_and_plurals():
    entries = {(e["msgctxt"], e["msgid"]): e for e in po_entries(PO_FILE)}
    assert entries[("wallet bucket column", "Paid")]["msgstr"] == {0: "已付额度"}
    plural = entries[(None, "… and %(count)s more problem.")]
    assert plural["msgid_plural"] == "… and %(count)s more problems."
    assert plural["msgstr"][0]


def test_a_wallet_error_is_in_chinese_when_chinese_is_active():
    with translation.override("zh-hans"), pytest.raises(WalletError) as exc:
        wallet_adjust(
            customer=None,
            currency="CNY",
            amount=Decimal("1"),
            bucket="paid",
            reason=" ",
            actor=None,
            idempotency_key="i18n",
        )
    assert str(exc.value) == "手工调整必须填写原因。"
    with translation.override("en"), pytest.raises(WalletError, match="A reason is required"):
        wallet_adjust(
            customer=None,
            currency="CNY",
            amount=Decimal("1"),
            bucket="paid",
            reason="",
            actor=None,
            idempotency_key="i18n",
        )


def test_import_errors_keep_row_and_field_in_chinese():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        parse_csv("model,inptu,output\nqwen3-max,1,2\n")
    assert exc.value.messages[0].startswith("第 1 行（表头），字段 inptu：未知的列；已知的列：model, input")
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        parse_csv("model,input,output\nqwen3-max,-1,2\n")
    assert exc.value.messages == ["第 2 行，字段 input：-1 为负数。"]
    with translation.override("en"), pytest.raises(ValidationError) as exc:
        parse_csv("model,input,output\nqwen3-max,-1,2\n")
    assert exc.value.messages == ["Row 2, field input: -1 is negative."]


def test_price_check_message_is_translated():
    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        price_check(Decimal("0.0000000000001"))
    assert "小数位超过 12 位" in exc.value.messages[0]


def test_transaction_kinds_have_translated_labels_and_unknown_kinds_show_as_they_are():
    with translation.override("zh-hans"):
        assert transaction_kind_label("wallet.topup.bank") == "对公转账充值"
        assert transaction_kind_label("wallet.topup.something_new") == "充值"
        assert transaction_kind_label("usage.prepaid") == "API 用量"
        assert transaction_kind_label("reversal") == "冲销"
        assert transaction_kind_label("vendor.invoice") == "vendor.invoice"
    with translation.override("en"):
        assert transaction_kind_label("wallet.breakage") == "Expired credit"


def test_ambiguous_words_are_split_by_context():
    with translation.override("zh-hans"):
        assert pgettext("ledger column", "Credit") == "贷方"
        assert pgettext("allowance unit", "Credit") == "额度"
        assert pgettext("card top-up status", "Paid") == "已支付"
        assert pgettext("wallet bucket column", "Paid") == "已付额度"
        assert pgettext("calculator button", "Quote") == "报价"
        assert pgettext("quote currency", "Quote") == "报价货币"
        assert pgettext("date granted", "Granted") == "发放时间"
        assert pgettext("wallet bucket column", "Granted") == "赠送额度"


def test_the_close_button_label_is_translated():
    messages = [type("Message", (), {"tags": "success", "__str__": lambda self: "ok"})()]
    with translation.override("zh-hans"):
        html = render_to_string("includes/messages.html", {"messages": messages})
    assert 'aria-label="关闭"' in html


def test_the_committed_catalogue_is_compiled_from_the_po_file(tmp_path):
    """Django reads django.mo, not the .po: a translation added to the .po but not compiled is shown in
    English. The committed .mo holds exactly what msgfmt makes of the committed .po."""
    import gettext
    import subprocess

    fresh = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(PO_FILE)], check=True)
    with fresh.open("rb") as handle:
        expected = gettext.GNUTranslations(handle)._catalog
    with PO_FILE.with_suffix(".mo").open("rb") as handle:
        committed = gettext.GNUTranslations(handle)._catalog
    stale = sorted(str(key)[:80] for key in expected.keys() ^ committed.keys())
    stale += sorted(
        str(key)[:80] for key in expected.keys() & committed.keys() if expected[key] != committed[key]
    )
    assert not stale, f"django.mo is not compiled from django.po (make messages): {stale[:10]}"
