from django.urls import path

from . import views

app_name = "exchange"
urlpatterns = [
    path("documents/<int:pk>/recall/", views.recall, name="recall"),
    path("documents/<int:pk>/replacement/", views.replacement, name="replacement"),
    path("documents/<int:pk>/edxml/", views.export, name="export"),
    path("recall-notices/<int:notice_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("edxml/upload/", views.upload, name="upload"),
]
