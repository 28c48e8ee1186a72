from django.urls import path

from . import register_views, views

app_name = "documents"
urlpatterns: list = [
    path("", views.inbox, name="inbox"),
    path("documents/", views.document_list, name="list"),
    path("documents/new/", views.create, name="create"),
    path("documents/<int:pk>/", views.detail, name="detail"),
    path("documents/<int:pk>/edit/", views.edit, name="edit"),
    path(
        "documents/<int:pk>/actions/<str:action>/", views.transition, name="transition"
    ),
    path("documents/<int:pk>/comments/", views.comment, name="comment"),
    path("documents/register/", register_views.outgoing_register, name="register"),
    path("documents/register/<str:fmt>/", register_views.outgoing_register,
         name="register_export"),
    path("documents/<int:pk>/files/", views.upload, name="upload"),
    path(
        "documents/<int:pk>/files/versions/<int:version_id>/",
        views.download,
        name="download",
    ),
]
