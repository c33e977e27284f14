from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Receivers are connected here, once the models are loaded, rather than imported at the bottom of a
        # models module: that import tied models, receivers and the services they call into one cycle.
        # Signals carry notifications only; rules (credit limit, overdue) are called by the services.
        from celery.signals import worker_ready
        from django.db.models.signals import post_save

        from billing.dunning.risk_tasks import risk_after_usage
        from billing.dunning.signals import write_off_wanted
        from billing.gateway.receivers import (
            balance_suspension_changed,
            credit_limit_breach_changed,
            floor_overshoot_opened,
            risk_flag_changed,
            usage_status_refresh,
            wallet_limit_refresh,
        )
        from billing.invoicing.receivers import progressive_receivers_connect
        from billing.invoicing.signals import invoices_issued
        from billing.receivables.receivers import invoices_issued_receiver
        from billing.receivables.writeoffs import dunning_write_off_receiver
        from billing.terms.models import CreditLimitBreach, RiskFlag
        from billing.terms.spans import usage_reach_provide
        from billing.usage.bulk.spool_dirs import worker_ready_sweep
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
        post_save.connect(risk_flag_changed, sender=RiskFlag, dispatch_uid="gateway_risk_flag")
        usage_committed.connect(risk_after_usage, dispatch_uid="risk_spike_after_usage")
        # Dunning sits below receivables: an exhausted policy asks for a write-off proposal by signal.
        write_off_wanted.connect(dunning_write_off_receiver, dispatch_uid="receivables.write_off_wanted")
        # Terms sit below invoicing: unbilled accrued past a threshold asks for an interim invoice.
        progressive_receivers_connect()
        # Terms sit below usage, yet a switch must fall after the usage already stored: usage says how far.
        usage_reach_provide(usage_reach)
        # A worker starting removes the bulk ingest spool folders of tasks killed with an earlier worker.
        worker_ready.connect(worker_ready_sweep, dispatch_uid="usage_bulk_spools_sweep")
