from django.urls import path

from billing.invoicing import staff_views

urlpatterns = [
    path("dashboard/service-charges/", staff_views.service_charge_list, name="staff-service-charges"),
    path(
        "dashboard/service-charges/<int:pk>/end/",
        staff_views.service_charge_stop,
        name="staff-service-charge-end",
    ),
    path("dashboard/period-closes/", staff_views.period_close_list, name="staff-period-closes"),
]
