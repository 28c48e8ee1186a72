from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "workflow.oversight"
    label = "oversight"
    verbose_name = _("Supervision, social critique and recommendations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Cases follow their documents: an approved plan, an issued conclusion or
        # an issued report moves the case on without anyone clicking twice.
        from workflow.documents.services import document_changed

        from . import signals

        document_changed.connect(signals.on_document_changed, dispatch_uid="oversight-documents")
