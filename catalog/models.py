"""Vendors and, as the catalog grows, their models, price books and plans."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Vendor(models.Model):
    """A model vendor we buy API credit from (OpenAI, DeepSeek, Alibaba …)."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    website = models.URLField(_("website"), blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2."))

    class Meta:
        verbose_name = _("vendor")
        verbose_name_plural = _("vendors")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
