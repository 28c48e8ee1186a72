"""Browser views for meetings: thin wrappers around the meetings services.

- :mod:`.pages` list, create, the meeting page and its form posts, tasks, notices, report
- :mod:`.room` the meeting room page, its poll and its actions
- :mod:`.papers` paper files, bodies and private notes
- :mod:`.common` JSON errors and bodies, people to choose from, redirect back
"""
