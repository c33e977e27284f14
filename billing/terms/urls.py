from django.urls import path

from billing.terms import views

urlpatterns = [
    path("dashboard/customers/<int:pk>/terms/", views.staff_terms, name="staff-customer-terms"),
]
