"""Find a model by the name a gateway or a person uses for it."""

import difflib

from django.db.models import Q, QuerySet

from catalog.errors import UnknownModel
from catalog.models import AIModel, ModelAlias


def model_resolve(name: str) -> AIModel:
    """Return the model whose canonical name or alias is ``name`` (case-insensitive).

    Raises UnknownModel carrying the closest known names, so the caller can suggest them.
    """
    name = (name or "").strip()
    model = (
        AIModel.objects.select_related("vendor")
        .filter(Q(name__iexact=name) | Q(aliases__alias__iexact=name))
        .first()
    )
    if model is None:
        raise UnknownModel(name, model_suggestions(name))
    return model


def model_suggestions(name: str, limit: int = 5) -> list[str]:
    """Return up to ``limit`` known names (canonical or alias) that look like ``name``."""
    names = list(AIModel.objects.values_list("name", flat=True))
    names += list(ModelAlias.objects.values_list("alias", flat=True))
    lowered = {n.lower(): n for n in names}
    matches = difflib.get_close_matches(name.lower(), list(lowered), n=limit, cutoff=0.5)
    if not matches:
        # A prefixed gateway name (provider/model) often contains a known name as a part.
        matches = [key for key in lowered if key in name.lower() or name.lower() in key][:limit]
    return [lowered[m] for m in matches]


def models_for_matching() -> dict[str, AIModel]:
    """Map every lower-cased canonical name and alias to its model, for imports."""
    index: dict[str, AIModel] = {}
    models = AIModel.objects.select_related("vendor").prefetch_related("aliases")
    for model in models:
        for alias in model.aliases.all():
            index.setdefault(alias.alias.lower(), model)
    # Canonical names win over aliases that happen to spell another model's name.
    for model in models:
        index[model.name.lower()] = model
    return index


def active_models() -> QuerySet[AIModel]:
    return AIModel.objects.filter(is_active=True).select_related("vendor").order_by("vendor__name", "name")
