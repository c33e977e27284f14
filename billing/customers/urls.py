from django.urls import path

from billing.customers import views

urlpatterns = [
    path("dashboard/customers/", views.staff_customer_list, name="staff-customer-list"),
    path("dashboard/customers/new/", views.staff_customer_create, name="staff-customer-create"),
    path("dashboard/customers/<int:pk>/", views.staff_customer_detail, name="staff-customer-detail"),
    path("dashboard/customers/<int:pk>/terms/", views.staff_terms, name="staff-customer-terms"),
    path("portal/", views.portal_home, name="portal-home"),
    path("portal/customers/", views.portal_customer_list, name="portal-customer-list"),
    path("portal/customers/<int:pk>/", views.portal_customer_detail, name="portal-customer-detail"),
]
