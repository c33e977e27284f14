"""Manual holds: staff stop a customer's gateway traffic whatever its balance."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Customer


class GatewayHold(models.Model):
    """An open hold (``ended_at`` blank) makes the gateway status endpoint answer *suspended*."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="gateway_holds")
    reason = models.CharField(_("reason"), max_length=300)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        db_table = "gateway_hold"
        verbose_name = _("gateway hold")
        verbose_name_plural = _("gateway holds")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.customer}: {self.reason}"
