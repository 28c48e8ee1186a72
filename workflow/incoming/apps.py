from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IncomingConfig(AppConfig):
    name = "workflow.incoming"
    label = "incoming"
    verbose_name = _("Incoming documents")

    def ready(self) -> None:
        from workflow.documents.services import document_changed

        from . import signals

        # Issuing a document delivers it; issuing a reply completes the handling.
        document_changed.connect(signals.on_document_changed, dispatch_uid="incoming-deliver")
        # A reorganisation moves the incoming documents still in handling (issue #16).
        from workflow.organisation.reorg import unit_merging

        unit_merging.connect(signals.on_unit_merging, dispatch_uid="incoming-unit-merging")
