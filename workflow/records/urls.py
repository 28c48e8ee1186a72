from django.urls import path

from . import views

app_name = "records"

urlpatterns = [
    path("", views.case_file_list, name="list"),
    path("new/", views.case_file_new, name="new"),
    path("file/", views.file_new, name="file"),
    path("<int:pk>/", views.case_file_detail, name="detail"),
    path("<int:pk>/file/", views.file_into, name="file_into"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/remove/<int:item>/", views.remove_item, name="remove"),
    path("<int:pk>/contents.<str:fmt>", views.contents_export, name="contents_export"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/export.<str:fmt>", views.plan_export, name="plan_export"),
    path("handovers/", views.handover_list, name="handovers"),
    path("handovers/<int:pk>/", views.handover_detail, name="handover"),
    path("handovers/<int:pk>/list.<str:fmt>", views.handover_export, name="handover_export"),
    path("handovers/<int:pk>/package.zip", views.handover_package, name="handover_package"),
    path("appraisal/", views.appraisal, name="appraisal"),
]
