"""Search the archive from the command line as a given user."""

from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from search import service


class Command(BaseCommand):
    help = "Full-text search as USERNAME, with the same permissions as the web page."

    def add_arguments(self, parser):
        parser.add_argument("query")
        parser.add_argument("--user", required=True)
        parser.add_argument("--json", action="store_true", dest="as_json")
        parser.add_argument("--page", type=int, default=1)
        parser.add_argument("--per-page", type=int, default=20)
        parser.add_argument("--sort", choices=service.SORTS, default="relevance")
        for facet in ("type", "unit", "year", "state"):
            parser.add_argument(f"--{facet}", action="append", default=[])

    def handle(self, *args, query: str, user: str, as_json: bool = False, **options):
        person = get_user_model().objects.filter(username=user, is_active=True).first()
        if person is None:
            raise CommandError(_("No active user called “%(name)s”.") % {"name": user})
        filters = {f: options.get(f) or [] for f in ("type", "unit", "year", "state")}
        results = service.search(person, query, filters=filters, sort=options["sort"],
                                 page=options["page"], per_page=options["per_page"])
        if as_json:
            self.stdout.write(json.dumps(results.to_dict(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(_("%(total)d results found.") % {"total": results.total})
        for hit in results.hits:
            page = _(" (page %(page)d)") % {"page": hit.page} if hit.page else ""
            self.stdout.write(f"\n[{hit.id}] {hit.symbol or '—'} · {hit.subject}{page}")
            self.stdout.write("    " + "".join(f"[{t}]" if hl else t
                                               for t, hl in hit.snippet_parts))
