"""Domain operations on critique and supervision cases, recommendations and reports.

Views, commands and tasks call the module that owns the operation; nothing else changes the
oversight models. Each operation runs in one transaction, asks :mod:`workflow.access`, writes
an audit record and returns the changed object.

- :mod:`.common` parsing, loading with permission, the transition runner, attachments
- :mod:`.casedocs` the documents a case links, and following them (``sync_document``)
- :mod:`.critique` social critique cases and written opinions
- :mod:`.supervision` supervision cases and their activities
- :mod:`.recommendations` voters' recommendations one by one
- :mod:`.reports` recommendation reports and periodic reports
- :mod:`.deadlines` notices, reminders and ``flag_overdue``
"""
