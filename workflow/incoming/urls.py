from django.urls import path

from . import views

app_name = "incoming"
urlpatterns = [
    path("", views.register_list, name="list"),
    path("new/", views.intake_view, name="intake"),
    path("export/<str:fmt>/", views.export, name="export"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/actions/<str:action>/", views.act, name="act"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("<int:pk>/files/<int:attachment_id>/", views.download, name="download"),
    path("deliveries/<int:delivery_id>/resend/", views.resend, name="resend"),
]
