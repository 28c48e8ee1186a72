from django.urls import path

from . import delegation_views, views

app_name = "signing"

urlpatterns = [
    path("verify/", views.verify, name="verify"),
    path("documents/<int:pk>/sign/", views.sign_confirm, name="sign"),
    path("documents/<int:pk>/approve-sign/", views.approve_sign, name="approve_sign"),
    path("documents/<int:pk>/sign/usb-token/", views.prepare_remote, name="prepare_remote"),
    path("documents/<int:pk>/issue/", views.issue_confirm, name="issue"),
    path("documents/<int:pk>/pdf/<str:stage>/", views.pdf_download, name="pdf"),
    path("documents/<int:pk>/pdfs/<int:pdf_id>/", views.pdf_version, name="pdf_version"),
    path("documents/<int:pk>/pdfs/<int:pdf_id>/verify/", views.pdf_version_verify,
         name="pdf_version_verify"),
    path("batch-issue/", views.batch_issue, name="batch_issue"),
    path("batch-sign/", views.batch_sign, name="batch_sign"),
    path("batch-issue/<uuid:token>/", views.batch_progress, name="batch_progress"),
    path("batch-issue/<uuid:token>/status/", views.batch_status, name="batch_status"),
    path("profile/", views.profile, name="profile"),
    path("delegations/", delegation_views.delegation_list, name="delegations"),
    path("delegations/<int:pk>/end/", delegation_views.delegation_end, name="delegation_end"),
    path("profile/image/", views.profile_image, name="profile_image"),
]
