"""Every journal transaction kind the code posts has a label, in English and in Chinese.

The kinds are read from the code itself: a string constant given as ``kind=`` (or ``ledger_kind=``) to a
call, or assigned to a name spelled with KIND (``KIND_CARD = "wallet.topup.card"``,
``kind, lines = "ecl.charge", ...``, a dict of kinds). A new kind posted without a label fails here.
"""

import ast
import re
from pathlib import Path

from django.utils import translation

from billing.ledger.kinds import KIND_LABELS, kind_label_msgid, kind_message, transaction_kind_label
from common.stored_text import stored_render

BILLING = Path(__file__).resolve().parents[3] / "billing"
# A dotted journal kind, or a prefix of one ("commission.settle." + method); "reversal" is the one plain word.
DOTTED = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+\.?$")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _strings(node):
    for n in ast.walk(node):
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and DOTTED.match(n.value):
            yield n.value


def _names(target) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple):
        return [n for element in target.elts for n in _names(element)]
    return []


def posted_kinds() -> dict[str, str]:
    """Every kind string the billing code posts (or names as a kind), with a file it is in."""
    found: dict[str, str] = {}
    for path in BILLING.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            values = []
            if isinstance(node, ast.keyword) and node.arg in ("kind", "ledger_kind"):
                values = _strings(node.value)
            elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any("KIND" in name.upper() for t in targets for name in _names(t)):
                    values = _strings(node.value)
            for value in values:
                found.setdefault(value, str(path.relative_to(BILLING.parent)))
    return found


def test_the_scan_finds_the_kinds_it_must():
    kinds = posted_kinds()
    # A few from each way they are written, so a scan that silently stopped finding them fails.
    for kind in ("wallet.topup.card", "usage.prepaid", "invoice.issue", "ecl.charge", "commission.settle."):
        assert kind in kinds, kind
    assert len(kinds) > 40


def test_every_posted_kind_has_a_label_translated_to_chinese():
    missing, untranslated = [], []
    for kind, where in sorted(posted_kinds().items()):
        if kind_label_msgid(kind) is None:
            missing.append(f"{kind} ({where})")
            continue
        with translation.override("zh-hans"):
            if not CJK.search(transaction_kind_label(kind)):
                untranslated.append(kind)
    assert not missing, f"kinds posted without a label in billing.ledger.kinds: {missing}"
    assert not untranslated, f"kind labels without a Chinese translation: {untranslated}"
    with translation.override("zh-hans"):
        assert "reversal" in KIND_LABELS and CJK.search(transaction_kind_label("reversal"))


def test_labels_read_in_the_readers_language_and_unknown_kinds_show_as_they_are():
    with translation.override("en"):
        assert transaction_kind_label("receivable.write_off") == "Bad debt written off"
        assert transaction_kind_label("commission.settle.bank") == "Commission paid"
    with translation.override("zh-hans"):
        assert transaction_kind_label("receivable.write_off") == "坏账核销"
        assert transaction_kind_label("commission.settle.offset") == "佣金支付"
        assert transaction_kind_label("test.unknown") == "test.unknown"


def test_a_kind_inside_a_stored_message_renders_as_its_label():
    assert stored_render(kind_message("wallet.grant"), language="zh-hans") == "发放赠送额度"
    assert stored_render(kind_message("commission.settle.bank"), language="en") == "Commission paid"
    assert kind_message("test.unknown") == "test.unknown"
