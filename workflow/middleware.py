"""Vietnamese first: pages speak Vietnamese unless the person picked another language."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class VietnameseFirstLocaleMiddleware(LocaleMiddleware):
    """Like Django's, but browser pages ignore ``Accept-Language``.

    Many clerks use a browser installed in English; the committee's working language
    is still Vietnamese. The switch in the header sets the language cookie, which wins.
    API clients keep standard negotiation through ``Accept-Language``.
    """

    def process_request(self, request: HttpRequest) -> None:
        if request.path_info.startswith("/api/"):
            return super().process_request(request)
        available = dict(settings.LANGUAGES)
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in available:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return None


TIMEZONE_COOKIE = "mttq_tz"


class UserTimezoneMiddleware:
    """Show times in the person's own zone (static/js/app.js stores it in a cookie).

    Without the cookie, or with a zone Python does not know, the site's TIME_ZONE
    (Asia/Ho_Chi_Minh) is used. The meeting room's poll skips this: its answers carry
    no formatted times and its fast path is measured (benchmarks/).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        name = request.COOKIES.get(TIMEZONE_COOKIE)
        if not name or request.path_info.endswith("/room/state/"):
            return self.get_response(request)
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from django.utils import timezone

        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)
