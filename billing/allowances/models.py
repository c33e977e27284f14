"""What a customer has bought from the catalog's allowance definitions: subscriptions and packs.

Billing reads these at period close (subscription fees, pack purchases on account); usage rating draws
their token allowances down before money.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer
from billing.invoicing.models import MONEY
from catalog.models import Pack, SubscriptionPlan


class Subscription(models.Model):
    """A customer on a subscription plan (e.g. a coding plan) from ``starts_on`` until ``ends_on``."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="subscriptions")
    plan = models.ForeignKey(SubscriptionPlan, on_delete=models.PROTECT, related_name="subscriptions")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True, help_text=_("Blank: until cancelled."))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "allowances_subscription"
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["customer", "-starts_on"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.plan}"


class PackPurchase(models.Model):
    """A pack bought by a customer; credit-term customers are invoiced for it at the next close."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="pack_purchases")
    pack = models.ForeignKey(Pack, on_delete=models.PROTECT, related_name="purchases")
    purchased_at = models.DateTimeField(_("purchased"))
    expires_at = models.DateTimeField(_("expires"))
    price = models.DecimalField(_("price"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "allowances_pack_purchase"
        verbose_name = _("pack purchase")
        verbose_name_plural = _("pack purchases")
        ordering = ["-purchased_at"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.pack}"
