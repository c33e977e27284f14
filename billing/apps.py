from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Receivers are connected here, once the models are loaded, rather than imported at the bottom of a
        # models module: that import tied models, receivers and the services they call into one cycle.
        from django.db.models.signals import post_save

        from billing.gateway.receivers import balance_suspension_changed
        from billing.ledger.models import JournalTransaction
        from billing.ledger.signals import transactions_posted
        from billing.terms.receivers import journal_transaction_posted, journal_transactions_posted
        from billing.wallets.models import BalanceSuspension

        post_save.connect(
            balance_suspension_changed, sender=BalanceSuspension, dispatch_uid="gateway_balance_suspension"
        )
        post_save.connect(
            journal_transaction_posted, sender=JournalTransaction, dispatch_uid="terms_credit_limit_watch"
        )
        transactions_posted.connect(
            journal_transactions_posted,
            sender=JournalTransaction,
            dispatch_uid="terms_credit_limit_watch_bulk",
        )
