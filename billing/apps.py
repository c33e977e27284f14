from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Receivers are connected here, once the models are loaded, rather than imported at the bottom of a
        # models module: that import tied models, receivers and the services they call into one cycle.
        # Signals carry notifications only; rules (credit limit, overdue) are called by the services.
        from django.db.models.signals import post_save

        from billing.gateway.receivers import (
            balance_suspension_changed,
            credit_limit_breach_changed,
            floor_overshoot_opened,
            usage_status_refresh,
            wallet_limit_refresh,
        )
        from billing.invoicing.signals import invoices_issued
        from billing.receivables.receivers import invoices_issued_receiver
        from billing.terms.models import CreditLimitBreach
        from billing.terms.spans import usage_reach_provide
        from billing.usage.signals import usage_committed
        from billing.usage.timeline import usage_reach
        from billing.wallets.models import BalanceSuspension, FloorOvershoot
        from billing.wallets.signals import wallet_limit_changed

        post_save.connect(
            balance_suspension_changed, sender=BalanceSuspension, dispatch_uid="gateway_balance_suspension"
        )
        post_save.connect(
            credit_limit_breach_changed, sender=CreditLimitBreach, dispatch_uid="gateway_credit_limit_breach"
        )
        post_save.connect(
            floor_overshoot_opened, sender=FloorOvershoot, dispatch_uid="gateway_floor_overshoot"
        )
        usage_committed.connect(usage_status_refresh, dispatch_uid="gateway_status_after_usage")
        wallet_limit_changed.connect(wallet_limit_refresh, dispatch_uid="gateway_status_after_wallet_limit")
        invoices_issued.connect(invoices_issued_receiver, dispatch_uid="receivables_credit_auto_apply")
        # Terms sit below usage, yet a switch must fall after the usage already stored: usage says how far.
        usage_reach_provide(usage_reach)
