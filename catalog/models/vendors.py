"""Vendors, their models and the aliases gateways send for them."""

from django.db import models
from django.db.models.functions import Lower
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


class Modality(models.TextChoices):
    TEXT = "text", _("Text")
    MULTIMODAL = "multimodal", _("Text and images in, text out")
    IMAGE = "image", _("Image generation")
    AUDIO = "audio", _("Audio")
    EMBEDDING = "embedding", _("Embedding")


class AIModel(models.Model):
    """A model a vendor serves, under its canonical name; gateways may call it by any alias."""

    vendor = models.ForeignKey(
        Vendor, verbose_name=_("vendor"), on_delete=models.PROTECT, related_name="models"
    )
    name = models.CharField(
        _("canonical name"), max_length=120, help_text=_("The name prices and reports use, e.g. qwen3-max.")
    )
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    modality = models.CharField(_("modality"), max_length=16, choices=Modality.choices, default=Modality.TEXT)
    context_window = models.PositiveIntegerField(
        _("context window"), null=True, blank=True, help_text=_("Maximum prompt tokens the model accepts.")
    )
    max_output_tokens = models.PositiveIntegerField(_("maximum output tokens"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("model")
        verbose_name_plural = _("models")
        ordering = ["vendor__name", "name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="catalog_aimodel_name_ci_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        return self.display_name or self.name


class ModelAlias(models.Model):
    """Another name for a model, as a gateway sends it (``dashscope/qwen3-max``, ``deepseek-chat``)."""

    model = models.ForeignKey(
        AIModel, verbose_name=_("model"), on_delete=models.CASCADE, related_name="aliases"
    )
    alias = models.CharField(_("alias"), max_length=200)

    class Meta:
        verbose_name = _("model alias")
        verbose_name_plural = _("model aliases")
        ordering = ["alias"]
        constraints = [models.UniqueConstraint(Lower("alias"), name="catalog_modelalias_alias_ci_unique")]

    def __str__(self) -> str:
        return f"{self.alias} → {self.model}"
