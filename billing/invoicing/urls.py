from django.urls import path

from billing.invoicing import views

urlpatterns = [
    path("dashboard/service-charges/", views.service_charge_list, name="staff-service-charges"),
    path(
        "dashboard/service-charges/<int:pk>/end/",
        views.service_charge_stop,
        name="staff-service-charge-end",
    ),
    path("dashboard/period-closes/", views.period_close_list, name="staff-period-closes"),
]
