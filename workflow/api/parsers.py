"""JSON bodies bounded like Django's form data (security review, issue 23 #7).

DRF hands the raw request stream to its JSON parser, so ``DATA_UPLOAD_MAX_MEMORY_SIZE``
never applied to the API: a 9 MB JSON body was read and parsed whole. This parser reads
at most the limit and answers 413 with a readable message beyond it.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers, status


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"
    default_detail = _("The request is too large. Shorten the body or send the content as a "
                       "file.")


class LimitedJSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is None or stream is None:
            return super().parse(stream, media_type, parser_context)
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and str(declared).isdigit() and int(declared) > limit:
            raise RequestTooLarge()
        data = stream.read(limit + 1)
        if len(data) > limit:
            raise RequestTooLarge()
        return super().parse(io.BytesIO(data), media_type, parser_context)
