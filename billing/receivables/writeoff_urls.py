from django.urls import path

from billing.receivables import writeoff_views as views

urlpatterns = [
    path("receivables/write-offs/", views.writeoff_list, name="writeoff-list"),
    path("receivables/write-offs/new/", views.writeoff_propose_view, name="writeoff-propose"),
    path("receivables/write-offs/<int:pk>/", views.writeoff_detail, name="writeoff-detail"),
    path("receivables/write-offs/<int:pk>/decide/", views.writeoff_decide, name="writeoff-decide"),
    path(
        "receivables/write-offs/<int:pk>/recover/<int:invoice_pk>/",
        views.writeoff_recover,
        name="writeoff-recover",
    ),
]
