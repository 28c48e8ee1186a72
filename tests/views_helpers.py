"""Shared helpers of the page tests: pages read in Vietnamese (an autouse fixture each module
imports), the text a Vietnamese page shows for a msgid, flash messages, logging in as a role
of the test tree and posting a document action.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from workflow import access
from workflow.documents.models import Document


@pytest.fixture(autouse=True)
def _vietnamese_pages(settings):
    # These tests read pages as a Vietnamese clerk sees them (the default language).
    settings.LANGUAGE_CODE = "vi"


ACTIONS = ["submit", "forward", "return", "approve", "sign", "issue", "archive", "withdraw"]


def vi(msgid: str, **params) -> str:
    """The text a Vietnamese page shows for an English msgid (whatever catalog is compiled)."""
    with translation.override("vi"):
        text = gettext(msgid)
    return text % params if params else text


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def login(client, org, unit: str, role: str):
    user = org.person(unit, role)
    access.forget(user)
    client.force_login(user)
    return user


def action_url(doc: Document, action: str) -> str:
    return reverse("documents:transition", args=[doc.pk, action])


def post_action(client, doc: Document, action: str, comment: str = "", expected=None):
    data = {"comment": comment, "expected_state": expected or doc.state}
    return client.post(action_url(doc, action), data, follow=True)


def _form_data(org, **overrides) -> dict:
    data = {
        "document_type": org.types["ke-hoach"].pk,
        "unit": org.units["province"].pk,
        "drafting_department": org.departments["province"].pk,
        "subject": "Kế hoạch tổ chức Ngày hội Đại đoàn kết toàn dân tộc năm 2025",
        "body": "<p>Căn cứ <strong>Điều lệ</strong> MTTQ Việt Nam;</p><script>alert(1)</script>",
        "recipient_units": [org.units["district"].pk, org.units["district2"].pk],
        "external_recipients": "UBND tỉnh Nghệ An\nBáo Nghệ An\n",
        "priority": "urgent",
        "due_date": "2025-11-18",
        "confidential": "",
    }
    data.update(overrides)
    return data
