"""Dated exchange rates."""

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models.fields import currency_field


class FxRate(models.Model):
    """``1 base = rate quote`` from ``date`` until the next rate for the pair."""

    base = currency_field(_("base currency"))
    quote = currency_field(_("quote currency"))
    date = models.DateField(_("date"))
    rate = models.DecimalField(
        _("rate"),
        max_digits=24,
        decimal_places=12,
        validators=[MinValueValidator(0)],
        help_text=_("Units of the quote currency for one unit of the base currency; full precision."),
    )
    source = models.CharField(_("source"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["-date", "base", "quote"]
        constraints = [
            models.UniqueConstraint(fields=["base", "quote", "date"], name="catalog_fx_unique_pair_date"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="catalog_fx_rate_gt_0"),
            models.CheckConstraint(
                condition=~models.Q(base=models.F("quote")), name="catalog_fx_pair_distinct"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} 1 {self.base} = {self.rate} {self.quote}"
