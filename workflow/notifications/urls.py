from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("", views.notice_list, name="list"),
    path("<int:pk>/open/", views.open_notice, name="open"),
    path("preferences/", views.preferences, name="preferences"),
]
