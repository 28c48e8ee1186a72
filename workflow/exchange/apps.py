from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangeConfig(AppConfig):
    name = "workflow.exchange"
    label = "exchange"
    verbose_name = _("Recall, replacement and edXML exchange")

    def ready(self) -> None:
        from django.db.models.signals import post_init, post_save

        from workflow.documents.services import document_changed
        from workflow.incoming.models import IncomingDocument

        from . import signals

        # Issuing a replacement marks the old document replaced.
        document_changed.connect(signals.on_document_changed, dispatch_uid="exchange-replace")
        # An incoming document that came as an edXML package answers with status messages.
        post_init.connect(signals.remember_state, sender=IncomingDocument,
                          dispatch_uid="exchange-state")
        post_save.connect(signals.on_incoming_saved, sender=IncomingDocument,
                          dispatch_uid="exchange-status")
