"""How a customer pays: prepaid, or on monthly / quarterly credit terms."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer


class BillingTerms(models.Model):
    class Mode(models.TextChoices):
        PREPAID = "prepaid", _("Prepaid")
        MONTHLY = "monthly", _("Monthly credit")
        QUARTERLY = "quarterly", _("Quarterly credit")

    class PaymentTerm(models.TextChoices):
        DUE_ON_RECEIPT = "on_receipt", _("Due on receipt")
        NET = "net", _("Net N days")
        END_OF_MONTH = "eom", _("End of month + N days")

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="billing_terms")
    mode = models.CharField(_("billing mode"), max_length=12, choices=Mode.choices, default=Mode.PREPAID)
    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code."))
    payment_term = models.CharField(
        _("payment term"), max_length=12, choices=PaymentTerm.choices, default=PaymentTerm.DUE_ON_RECEIPT
    )
    payment_days = models.PositiveSmallIntegerField(_("payment days"), default=0)
    credit_limit = models.DecimalField(
        _("credit limit"),
        max_digits=20,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("In the terms' currency; zero for prepaid customers."),
    )

    class Meta:
        verbose_name = _("billing terms")
        verbose_name_plural = _("billing terms")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_limit__gte=0), name="billing_terms_credit_limit_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_mode_display()}"

    @property
    def is_credit(self) -> bool:
        return self.mode != self.Mode.PREPAID
