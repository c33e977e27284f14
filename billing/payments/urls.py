from django.urls import path

from billing.payments.views import corrections, portal, staff, stripe_events, webhook

urlpatterns = [
    path("stripe/webhook/", webhook.stripe_webhook, name="stripe-webhook"),
    path("portal/wallet/top-up/", portal.portal_topup, name="portal-topup"),
    path("portal/wallet/top-up/success/", portal.portal_topup_success, name="portal-topup-success"),
    path("portal/wallet/top-up/cancel/", portal.portal_topup_cancel, name="portal-topup-cancel"),
    path("portal/wallet/top-up/redeem/", portal.portal_topup_redeem, name="portal-topup-redeem"),
    path("dashboard/payments/cards/", staff.card_topup_list, name="staff-card-topup-list"),
    path(
        "dashboard/payments/stripe-events/", stripe_events.stripe_event_list, name="staff-stripe-event-list"
    ),
    path(
        "dashboard/payments/stripe-events/<int:pk>/",
        stripe_events.stripe_event_detail,
        name="staff-stripe-event-detail",
    ),
    path(
        "dashboard/payments/stripe-events/<int:pk>/retry/",
        stripe_events.stripe_event_retry,
        name="staff-stripe-event-retry",
    ),
    path(
        "dashboard/payments/stripe-events/<int:pk>/resolve/",
        stripe_events.stripe_event_resolve_view,
        name="staff-stripe-event-resolve",
    ),
    path(
        "dashboard/payments/stripe-events/<int:pk>/credit-captured/",
        stripe_events.stripe_event_credit_captured_view,
        name="staff-stripe-event-credit-captured",
    ),
    path("dashboard/payments/bank-transfers/", staff.bank_transfer_list, name="staff-bank-transfer-list"),
    path(
        "dashboard/payments/bank-transfers/new/",
        staff.bank_transfer_create,
        name="staff-bank-transfer-create",
    ),
    path(
        "dashboard/payments/bank-transfers/<int:pk>/",
        staff.bank_transfer_detail,
        name="staff-bank-transfer-detail",
    ),
    path(
        "dashboard/payments/bank-transfers/<int:pk>/decide/",
        staff.bank_transfer_decide,
        name="staff-bank-transfer-decide",
    ),
    path(
        "dashboard/payments/bank-transfers/<int:pk>/attachment/",
        staff.bank_transfer_attachment,
        name="staff-bank-transfer-attachment",
    ),
    path("dashboard/payments/codes/", staff.redemption_batch_list, name="staff-redemption-batch-list"),
    path("dashboard/payments/codes/new/", staff.redemption_batch_new, name="staff-redemption-batch-create"),
    path(
        "dashboard/payments/codes/<int:pk>/",
        staff.redemption_batch_detail,
        name="staff-redemption-batch-detail",
    ),
    path(
        "dashboard/payments/codes/<int:pk>/codes.csv",
        staff.redemption_batch_csv,
        name="staff-redemption-batch-csv",
    ),
    path("dashboard/payments/corrections/", corrections.correction_list, name="staff-correction-list"),
    path(
        "dashboard/payments/corrections/<int:pk>/",
        corrections.correction_detail,
        name="staff-correction-detail",
    ),
    path(
        "dashboard/payments/corrections/<int:pk>/decide/",
        corrections.correction_decide,
        name="staff-correction-decide",
    ),
    path(
        "dashboard/payments/corrections/reverse-payment/<int:pk>/",
        corrections.payment_reversal_create,
        name="staff-payment-reversal-create",
    ),
    path(
        "dashboard/payments/corrections/reverse-transfer/<int:pk>/",
        corrections.transfer_reversal_create,
        name="staff-transfer-reversal-create",
    ),
    path(
        "dashboard/payments/corrections/refund-credit/<int:pk>/",
        corrections.credit_refund_create,
        name="staff-credit-refund-create",
    ),
]
