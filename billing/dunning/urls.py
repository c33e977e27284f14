from django.urls import path

from billing.dunning import views

urlpatterns = [
    path("dashboard/dunning/", views.policy_list, name="staff-dunning-policies"),
    path("dashboard/dunning/new/", views.policy_create, name="staff-dunning-policy-create"),
    path("dashboard/dunning/<int:pk>/", views.policy_edit, name="staff-dunning-policy-edit"),
    path("dashboard/dunning/notices/", views.notice_list, name="staff-dunning-notices"),
]
