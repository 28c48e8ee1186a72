from django.urls import path

from . import views

app_name = "meetings"
urlpatterns = [
    path("", views.meeting_list, name="list"),
    path("new/", views.meeting_create, name="create"),
    path("tasks/", views.tasks, name="tasks"),
    path("notifications/", views.notifications, name="notifications"),
    path("report/paperless/", views.paperless_report, name="paperless_report"),
    path("<int:pk>/", views.meeting_detail, name="detail"),
    path("<int:pk>/do/<slug:op>/", views.meeting_op, name="op"),
    path("<int:pk>/room/", views.room, name="room"),
    path("<int:pk>/room/state/", views.room_state, name="room_state"),
    path("<int:pk>/room/do/<slug:op>/", views.room_op, name="room_op"),
    path("papers/<int:paper_id>/file/", views.paper_file, name="paper_file"),
    path("papers/<int:paper_id>/body/", views.paper_body, name="paper_body"),
    path("papers/<int:paper_id>/note/", views.paper_note, name="paper_note"),
]
