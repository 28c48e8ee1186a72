from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "search"
    verbose_name = _("Search")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from workflow.documents.services import document_changed

        from .tasks import on_document_changed

        document_changed.connect(on_document_changed, dispatch_uid="search-index-document")
        from . import signals

        signals.connect()
