"""A small distribution chain with prices, shared by the retail plan tests (services only, as production).

Figures (CNY per million tokens, no exchange rates involved):
  our cost            input 10     output 20
  Wholesale (ours)    cost × 1.25  → 12.5 / 25      assigned to sub-distributor S
  S Retail (S's)      wholesale × 1.2 → 15 / 30     assigned to S's customer C
  list                input 16     output 40
"""

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Customer
from catalog.models import AIModel, BookKind, PlanRule, SellPlan
from catalog.services.plans import plan_assign, plan_create
from tests.catalog.factories import EPOCH, AIModelFactory, PriceBookFactory, add_prices, add_rule, tier
from tests.factories import CustomerFactory, SubDistributorFactory


@dataclass
class Chain:
    model: AIModel
    cost_book: object
    list_book: object
    wholesale: SellPlan
    seller: Customer
    customer: Customer
    retail: SellPlan


def chain_build(*, mode: str = Customer.ChainMode.RESALE, seller_name: str = "Shop S") -> Chain:
    model = AIModelFactory(name="glm-5")
    cost_book = PriceBookFactory(name="Zhipu contract", kind=BookKind.COST, currency="CNY")
    list_book = PriceBookFactory(name="Zhipu list", kind=BookKind.LIST, currency="CNY")
    add_prices(cost_book, model, tier(input="10", output="20"))
    add_prices(list_book, model, tier(input="16", output="40"))
    wholesale = plan_create(name="Wholesale", currency="CNY")
    add_rule(wholesale, PlanRule.Method.COST_MARKUP, markup=Decimal("0.25"))
    seller = SubDistributorFactory(name=seller_name, chain_mode=mode)
    plan_assign(customer=seller, plan=wholesale, effective_from=EPOCH)
    customer = CustomerFactory(name="End Customer C", parent=seller)
    retail = plan_create(name="S Retail", currency="CNY", owner=seller)
    add_rule(retail, PlanRule.Method.WHOLESALE_MARKUP, markup=Decimal("0.2"))
    plan_assign(customer=customer, plan=retail, effective_from=EPOCH)
    return Chain(model, cost_book, list_book, wholesale, seller, customer, retail)


def floor_set(customer: Customer, floor: str | None) -> Customer:
    Customer.objects.filter(pk=customer.pk).update(retail_floor=None if floor is None else Decimal(floor))
    customer.refresh_from_db()
    return customer
