"""Pages for cases, recommendations and the targets dashboard. Logic lives in services.

- :mod:`.board` the targets dashboard, its export and drill-down lists
- :mod:`.cases` critique and supervision case pages
- :mod:`.recommendations` recommendations, recommendation reports, periodic reports
- :mod:`.common` history, steps, refusals as messages, case files, notices
"""
