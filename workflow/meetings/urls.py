from django.urls import path

from .views import pages, papers, room

app_name = "meetings"
urlpatterns = [
    path("", pages.meeting_list, name="list"),
    path("new/", pages.meeting_create, name="create"),
    path("tasks/", pages.tasks, name="tasks"),
    path("notifications/", pages.notifications, name="notifications"),
    path("report/paperless/", pages.paperless_report, name="paperless_report"),
    path("<int:pk>/", pages.meeting_detail, name="detail"),
    path("<int:pk>/do/<slug:op>/", pages.meeting_op, name="op"),
    path("<int:pk>/room/", room.room, name="room"),
    path("<int:pk>/room/state/", room.room_state, name="room_state"),
    path("<int:pk>/room/do/<slug:op>/", room.room_op, name="room_op"),
    path("papers/<int:paper_id>/file/", papers.paper_file, name="paper_file"),
    path("papers/<int:paper_id>/body/", papers.paper_body, name="paper_body"),
    path("papers/<int:paper_id>/note/", papers.paper_note, name="paper_note"),
]
