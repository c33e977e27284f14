"""Vendors and models, price books, plans, allowances, exchange rates, imports and alerts."""

from catalog.models.allowances import AllowanceUnit, FreeGrant, ModelGroup, Pack, SubscriptionPlan
from catalog.models.books import BookKind, PriceBook, PriceEntry, PriceTier, PriceWindow
from catalog.models.contracts import (
    Channel,
    ChannelAlias,
    ChannelKind,
    CommitPeriod,
    ContractTier,
    CostBasis,
    Settlement,
    VendorContract,
)
from catalog.models.fx import FxRate
from catalog.models.imports import PriceAlert, PriceImport, ProviderMapping
from catalog.models.plans import PlanAssignment, PlanRule, SellPlan
from catalog.models.vendors import AIModel, Modality, ModelAlias, Vendor

__all__ = [
    "AIModel",
    "AllowanceUnit",
    "BookKind",
    "Channel",
    "ChannelAlias",
    "ChannelKind",
    "CommitPeriod",
    "ContractTier",
    "CostBasis",
    "FreeGrant",
    "FxRate",
    "Modality",
    "ModelAlias",
    "ModelGroup",
    "Pack",
    "PlanAssignment",
    "PlanRule",
    "PriceAlert",
    "PriceBook",
    "PriceEntry",
    "PriceImport",
    "PriceTier",
    "PriceWindow",
    "ProviderMapping",
    "SellPlan",
    "Settlement",
    "SubscriptionPlan",
    "Vendor",
    "VendorContract",
]
