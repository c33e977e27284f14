"""Routes of the vendor contracts and channels pages."""

from django.urls import path

from billing.upstream.channels import unmapped_views, views

urlpatterns: list = [
    path("upstream/contracts/", views.contract_list, name="upstream-contract-list"),
    path("upstream/contracts/new/", views.contract_new, name="upstream-contract-new"),
    path("upstream/contracts/<int:pk>/", views.contract_detail, name="upstream-contract-detail"),
    path("upstream/contracts/<int:pk>/edit/", views.contract_edit, name="upstream-contract-edit"),
    path("upstream/contracts/<int:pk>/active/", views.contract_active, name="upstream-contract-active"),
    path("upstream/channels/", views.channel_list, name="upstream-channel-list"),
    path("upstream/channels/new/", views.channel_new, name="upstream-channel-new"),
    path("upstream/channels/<int:pk>/", views.channel_detail, name="upstream-channel-detail"),
    path("upstream/channels/<int:pk>/edit/", views.channel_edit, name="upstream-channel-edit"),
    path("upstream/channels/<int:pk>/active/", views.channel_active, name="upstream-channel-active"),
    path("upstream/channels/<int:pk>/aliases/", views.channel_alias_new, name="upstream-channel-alias-add"),
    path(
        "upstream/channels/<int:pk>/aliases/remove/",
        views.channel_alias_delete,
        name="upstream-channel-alias-remove",
    ),
    path("upstream/channels/unmapped/", unmapped_views.unmapped_list, name="upstream-unmapped-list"),
    path("upstream/channels/unmapped/map/", unmapped_views.unmapped_map, name="upstream-unmapped-map"),
]
