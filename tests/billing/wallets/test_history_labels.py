"""The wallet history names every kind of posting that reaches a wallet, in both languages."""

from django.utils import translation

from billing.allowances.charges import KIND_SUBSCRIPTION
from billing.payments.postings import KIND_WALLET_REFUND
from billing.wallets.selectors import transaction_kind_label


def test_purchases_refunds_and_corrections_have_names_not_kinds():
    # In English explicitly: a page an earlier test requested in Chinese leaves that language active.
    with translation.override("en"):
        assert transaction_kind_label(KIND_SUBSCRIPTION) == "Subscription fee"
        assert transaction_kind_label(KIND_WALLET_REFUND) == "Credit refunded to the customer"
        assert transaction_kind_label("usage.correction") == "Usage price correction"
        assert transaction_kind_label("usage.prepaid") == "API usage"
    with translation.override("zh-hans"):
        assert transaction_kind_label(KIND_SUBSCRIPTION) == "订阅费"
        assert transaction_kind_label(KIND_WALLET_REFUND) == "余额已退还客户"
        assert transaction_kind_label("usage.correction") == "用量价格更正"
