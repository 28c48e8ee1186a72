from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DocumentsConfig(AppConfig):
    name = "workflow.documents"
    label = "documents"
    verbose_name = _("Outgoing documents")

    def ready(self) -> None:
        from django.db.models.signals import post_init, post_save

        from . import services
        from .models import Document

        post_init.connect(services.remember_confidential, sender=Document,
                          dispatch_uid="documents-confidential-init")
        post_save.connect(services.confidential_saved, sender=Document,
                          dispatch_uid="documents-confidential-saved")
