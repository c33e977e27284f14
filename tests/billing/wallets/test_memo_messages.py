"""Wallet history reads in the reader's language: each movement's kind and memo (stored as a message beside
the English memo) — a usage charge, a grant, a manual adjustment, an expiry, a seller-book mirror."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import MemberRole, StaffRole
from billing.ledger.models import JournalTransaction
from billing.usage.services import usage_batch_ingest
from billing.wallets.adjustments import wallet_adjust
from billing.wallets.credits import grant_credit, wallet_credit
from billing.wallets.expiry import wallet_lots_expire_due
from billing.wallets.locking import wallet_get_or_create
from billing.wallets.selectors import wallet_history
from catalog.models import AllowanceUnit, FreeGrant
from common.stored_text import stored, stored_render
from tests.billing.factories import cash, grant, staff, topup
from tests.billing.usage import conftest as usage_fixtures
from tests.billing.usage.factories import event
from tests.billing.usage.test_chain_mirror import tree
from tests.factories import CustomerFactory, MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _language_restored():
    """A page activates the language its request asks for, and it stays active in this thread: the next
    test starts in the default language again."""
    yield
    translation.deactivate()


source, model, prepaid = usage_fixtures.source, usage_fixtures.model, usage_fixtures.prepaid


def _history(customer, language: str) -> list[tuple[str, str]]:
    with translation.override(language):
        rows = wallet_history(wallet=wallet_get_or_create(customer=customer, currency="CNY"))
        return [(row["kind_label"], row["memo"]) for row in rows]


def test_a_usage_charge_reads_in_chinese(source, prepaid):
    topup(prepaid, "10", "t1")
    usage_batch_ingest(source=source, records=[event("r1")], idempotency_key="batch-7")
    charge = JournalTransaction.objects.get(kind="usage.prepaid")
    assert charge.memo == f"Usage batch {charge.source.split(':')[1]} (batch-7)"
    assert charge.memo_message["key"] == "usage.memo.batch"
    kind, memo = _history(prepaid, "zh-hans")[0]
    assert (kind, memo) == ("API 用量", f"用量批次 {charge.source.split(':')[1]}（batch-7）")
    assert _history(prepaid, "en")[0] == ("API usage", charge.memo)


def test_a_grant_an_adjustment_and_an_expiry_read_in_chinese():
    customer = CustomerFactory()
    now = timezone.now()
    free = FreeGrant.objects.create(
        customer=customer,
        unit=AllowanceUnit.CREDIT,
        amount=Decimal("5"),
        currency="CNY",
        granted_at=now - timedelta(days=2),
        expires_at=now + timedelta(days=30),
        reason="Launch promotion",
    )
    grant_credit(grant=free)
    wallet_adjust(
        customer=customer,
        currency="CNY",
        amount=Decimal("3"),
        bucket="paid",
        reason="goodwill",
        actor=staff(StaffRole.FINANCE),
        idempotency_key="adj-1",
    )
    grant(customer, "2", "g-old", expires_at=now - timedelta(minutes=1))
    assert wallet_lots_expire_due(now=now) == 1
    lot_credit = JournalTransaction.objects.get(idempotency_key="g-old")

    chinese = _history(customer, "zh-hans")
    assert (chinese[0][1]) == f"由 #{lot_credit.pk} 入账的赠送额度已过期"
    assert ("手工调整", "手工调整：goodwill") in chinese
    assert ("发放赠送额度", f"赠送额度 #{free.pk}：Launch promotion") in chinese
    english = _history(customer, "en")
    assert english[0][1] == f"Expired granted credit credited by #{lot_credit.pk}"
    assert ("Manual adjustment", "Manual adjustment: goodwill") in english


def test_the_portal_wallet_page_shows_the_history_in_chinese(client):
    customer = CustomerFactory()
    grant_credit(
        grant=FreeGrant.objects.create(
            customer=customer,
            unit=AllowanceUnit.CREDIT,
            amount=Decimal("5"),
            currency="CNY",
            granted_at=timezone.now() - timedelta(days=1),
            expires_at=timezone.now() + timedelta(days=30),
        )
    )
    free = FreeGrant.objects.get()
    client.force_login(MembershipFactory(customer=customer, role=MemberRole.OWNER).user)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(reverse("portal-wallet")).content.decode()
    assert f"赠送额度 #{free.pk}" in page and "发放赠送额度" in page
    assert f"Free grant #{free.pk}" not in page


def test_a_seller_book_mirror_names_the_mirrored_kind_and_memo_in_chinese(model):
    s, _c = tree(terms="prepaid")
    free = FreeGrant.objects.create(
        customer=s,
        unit=AllowanceUnit.CREDIT,
        amount=Decimal("10"),
        currency="CNY",
        granted_at=timezone.now() - timedelta(days=1),
        expires_at=timezone.now() + timedelta(days=30),
    )
    grant_credit(grant=free)
    mirror = JournalTransaction.objects.get(book=s, kind="chain.seller_mirror")
    assert mirror.memo == f"Mirror of wallet.grant at our seller: Free grant #{free.pk}"
    with translation.override("zh-hans"):
        assert (
            stored_render(mirror.memo_message, mirror.memo)
            == f"上级卖方处「发放赠送额度」的镜像：赠送额度 #{free.pk}"
        )
    with translation.override("en"):
        assert stored_render(mirror.memo_message, mirror.memo) == (
            f"Mirror of Credit granted at our seller: Free grant #{free.pk}"
        )


def test_a_wallet_credit_replayed_with_another_message_is_the_same_credit():
    customer = CustomerFactory()
    first = wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal("5"),
        bucket="paid",
        idempotency_key="bank-transfer:1",
        source_account=cash("CNY", customer.seller),
        kind="wallet.topup.bank",
        memo="Bank transfer ICBC-1",
        memo_message=stored("payments.memo.bank_transfer", reference="ICBC-1"),
    )
    again = wallet_credit(
        customer=customer,
        currency="CNY",
        amount=Decimal("5"),
        bucket="paid",
        idempotency_key="bank-transfer:1",
        source_account=cash("CNY", customer.seller),
        kind="wallet.topup.bank",
        memo="Bank transfer ICBC-1",
    )
    assert again.pk == first.pk
    assert JournalTransaction.objects.filter(kind="wallet.topup.bank").count() == 1
    assert _history(customer, "zh-hans") == [("对公转账充值", "银行转账 ICBC-1")]
