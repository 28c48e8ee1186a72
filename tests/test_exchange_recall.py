"""Issue #15: recall and replacement of issued documents, their access matrix, and recall
notices sent to and acknowledged by edXML partners (docs/exchange.md).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.exchange_helpers import CODES, issued, person, settings_outbox
from tests.factories import PASSWORD, advance, pdf_bytes, upload
from tests.incoming_helpers import arrived
from workflow.audit.models import AuditEntry
from workflow.documents import services as doc_services
from workflow.documents.errors import Conflict, InvalidInput, NotAllowed, NotFound
from workflow.exchange import edxml, recall, services
from workflow.exchange.edxml import PackageError
from workflow.exchange.models import Package, PartnerDelivery, RecallNotice
from workflow.incoming import services as in_services
from workflow.incoming.models import (
    Delivery,
    DeliveryState,
    IncomingDocument,
    State,
)
from workflow.organisation.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


def test_recall_access_matrix_and_effects(coded):
    org = coded
    document = issued(org, ["commune", "commune2"])
    commune_in = arrived(org, document, "commune")
    commune2_in = arrived(org, document, "commune2")
    clerk, leader = person(org, "commune", Role.CLERK), person(org, "commune", Role.LEADER)
    handler = person(org, "commune", Role.SPECIALIST)
    in_services.register(clerk, commune_in.pk)
    in_services.assign(leader, commune_in.pk, direction="Xử lý", lead_id=handler.pk)
    in_services.start(handler, commune_in.pk)
    number = IncomingDocument.objects.get(pk=commune_in.pk).arrival_number
    # Who may recall: only a leader of the issuing unit.
    for who in (person(org, "province", Role.CLERK), person(org, "province", Role.SPECIALIST)):
        with pytest.raises(NotAllowed):
            recall.recall(who, document.pk, reason="Sai nơi nhận")
    for who in (clerk, handler):  # recipients see it but cannot recall it
        with pytest.raises(NotAllowed):
            recall.recall(who, document.pk, reason="x")
    with pytest.raises(NotFound):  # a non-recipient of a confidential one cannot even see it
        confidential = issued(org, ["commune"], confidential=True)
        recall.recall(person(org, "district2", Role.LEADER), confidential.pk, reason="x")
    with pytest.raises(InvalidInput):
        recall.recall(person(org, "province", Role.LEADER), document.pk, reason="  ")
    item = recall.recall(person(org, "province", Role.LEADER), document.pk,
                         reason="Sai nơi nhận")
    with pytest.raises(Conflict):
        recall.recall(person(org, "province", Role.LEADER), document.pk, reason="again")
    assert set(Delivery.objects.filter(document=document).values_list("state", flat=True)) \
        == {DeliveryState.RECALLED}
    commune_in.refresh_from_db()
    commune2_in.refresh_from_db()
    assert commune_in.state == commune2_in.state == State.RECALLED
    assert commune_in.arrival_number == number  # the register entry keeps its number
    assert AuditEntry.objects.filter(action="incoming.recalled").count() == 2
    # Open handling is closed: the handler can no longer act.
    with pytest.raises((NotAllowed, Conflict)):
        in_services.complete(handler, commune_in.pk, result="x")
    notices = RecallNotice.objects.filter(recall=item)
    assert notices.count() == 2
    notice = notices.get(unit=org.units["commune"])
    assert notice.state_before == State.IN_HANDLING
    # Acknowledgement: the recipient's clerk, not its handler, not another unit.
    with pytest.raises(NotAllowed):
        recall.acknowledge(handler, notice.pk)
    with pytest.raises(NotFound):
        recall.acknowledge(person(org, "district2", Role.CLERK), notice.pk)
    recall.acknowledge(clerk, notice.pk)
    with pytest.raises(Conflict):
        recall.acknowledge(clerk, notice.pk)
    notice.refresh_from_db()
    assert notice.acknowledged_by == clerk
    # The acknowledgement is also an edXML status message (code 15) for the sender.
    ack = Package.objects.get(kind="status", status_code="15")
    assert edxml.parse(bytes(ack.content), max_bytes=10**6).status_code == "15"


def test_recall_banners_pages_and_search(coded, client):
    from search import service

    org = coded
    document = issued(org, ["commune"], subject="Kế hoạch khuyến học năm 2026")
    incoming = arrived(org, document, "commune")
    recall.recall(person(org, "province", Role.LEADER), document.pk, reason="Có sai sót")
    client.login(username="commune-clerk", password=PASSWORD)
    page = client.get(reverse("incoming:detail", args=[incoming.pk])).content.decode()
    assert 'id="recall-banner"' in page and "Có sai sót" in page
    assert 'data-action="acknowledge-recall"' in page
    register = client.get(reverse("incoming:list")).content.decode()
    assert "recalled-flag" in register
    tasks = client.get(reverse("documents:inbox")).content.decode()
    assert 'id="recall-tasks"' in tasks and f"/incoming/{incoming.pk}/" in tasks
    outgoing = client.get(reverse("documents:detail", args=[document.pk])).content.decode()
    assert 'id="recall-banner"' in outgoing and 'id="recall-form"' not in outgoing
    hits = service.search(person(org, "commune", Role.CLERK), "khuyến học").hits
    hit = next(h for h in hits if h.kind == "incoming" and h.id == incoming.pk)
    assert hit.state == "in:recalled" and hit.state_label == "Recalled by the sender"
    # The sender's document shows the state too.
    hits = service.search(person(org, "province", Role.LEADER), "khuyến học").hits
    hit = next(h for h in hits if h.kind == "document" and h.id == document.pk)
    assert hit.state == "recalled" and hit.state_label == "Recalled"
    notice = RecallNotice.objects.get(incoming=incoming)
    client.post(reverse("exchange:acknowledge", args=[notice.pk]))
    assert 'id="recall-tasks"' not in client.get(reverse("documents:inbox")).content.decode()
    # A non-recipient sees neither the incoming record nor its banner.
    client.logout()
    client.login(username="district2-clerk", password=PASSWORD)
    assert client.get(reverse("incoming:detail", args=[incoming.pk])).status_code == 404


def test_recall_api(coded):
    org = coded
    document = issued(org, ["commune"])
    api = APIClient()
    _row, token = AuthToken.objects.create(user=person(org, "province", Role.CLERK))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post(f"/api/documents/{document.pk}/recall/", {"reason": "x"}).status_code == 403
    _row, token = AuthToken.objects.create(user=person(org, "province", Role.LEADER))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api.post(f"/api/documents/{document.pk}/recall/", {"reason": "Sai sót"})
    assert response.status_code == 200 and response.json()["notices"] == 1
    notice = RecallNotice.objects.get()
    _row, token = AuthToken.objects.create(user=person(org, "commune", Role.CLERK))
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post(f"/api/recall-notices/{notice.pk}/acknowledge/").status_code == 200


def test_replacement_access_links_both_ways(coded, client):
    org = coded
    old = issued(org, ["commune", "commune2"])
    with pytest.raises(NotAllowed):
        recall.draft_replacement(person(org, "commune", Role.CLERK), old.pk)
    with pytest.raises(NotAllowed):
        recall.draft_replacement(person(org, "province", Role.CLERK), old.pk)
    new = recall.draft_replacement(person(org, "province", Role.SPECIALIST), old.pk)
    with pytest.raises(Conflict):
        recall.draft_replacement(person(org, "province", Role.LEADER), old.pk)
    assert f"replaces document no. {old.symbol}" in new.subject
    assert set(new.recipients.values_list("unit_id", flat=True)) == \
        set(old.recipients.values_list("unit_id", flat=True))
    assert recall.links_for_document(old)["replaced_by"] is None  # not issued yet
    doc_services.add_file(new.drafter, new.pk, upload=upload("m.pdf", pdf_bytes("M")),
                          kind="main")
    new = advance(org, new, "issued")
    assert recall.links_for_document(old)["replaced_by"] == new
    assert recall.links_for_document(new)["replaces"] == old
    assert AuditEntry.objects.filter(action="document.replaced").count() == 1
    # Recipients of both see the link to their own record of the other one.
    old_in, new_in = arrived(org, old, "commune"), arrived(org, new, "commune")
    assert recall.links_for_incoming(old_in)["replaced_by"]["incoming"] == new_in
    assert recall.links_for_incoming(new_in)["replaces"]["incoming"] == old_in
    client.login(username="commune-clerk", password=PASSWORD)
    page = client.get(reverse("incoming:detail", args=[old_in.pk])).content.decode()
    assert 'id="replaced-by"' in page and f"/incoming/{new_in.pk}/" in page
    page = client.get(reverse("documents:detail", args=[old.pk])).content.decode()
    assert 'id="replaced-by"' in page
    # The replacement's edXML names what it replaces.
    data, _p = services.export_document(None, new)
    parsed = edxml.parse(data, max_bytes=10**8)
    assert parsed.business_type == edxml.BUSINESS_REPLACE
    assert parsed.replaces == [services._key(old)]


# (unit, role) -> may recall, may draft a replacement, may acknowledge, sees the banner
MATRIX = {
    ("province", Role.LEADER): (True, True, False, False),    # issuer's leader
    ("province", Role.CLERK): (False, False, False, False),   # issuer's clerk
    ("province", Role.SPECIALIST): (False, True, False, False),
    ("commune", Role.CLERK): (False, False, True, True),      # recipient clerk
    ("commune", Role.SPECIALIST): (False, False, False, True),  # recipient handler
    ("commune", Role.LEADER): (False, False, True, True),
    ("district2", Role.CLERK): (False, False, False, False),  # non-recipient
}


@pytest.mark.parametrize(("who", "expected"), list(MATRIX.items()),
                         ids=[f"{u}-{r}" for u, r in MATRIX])
def test_recall_and_replacement_access_matrix(coded, who, expected):
    from workflow import access

    org = coded
    document = issued(org, ["commune"])
    incoming = arrived(org, document, "commune")
    handler = person(org, "commune", Role.SPECIALIST)
    in_services.register(person(org, "commune", Role.CLERK), incoming.pk)
    in_services.assign(person(org, "commune", Role.LEADER), incoming.pk, direction="Xử lý",
                       lead_id=handler.pk)
    user = person(org, *who)
    may_recall, may_replace, may_ack, sees = expected
    assert access.can_recall(user, document) is may_recall
    assert access.can_replace(user, document) is may_replace
    recall.recall(person(org, "province", Role.LEADER), document.pk, reason="Sai sót")
    notice = RecallNotice.objects.get()
    assert access.can_acknowledge_recall(user, notice) is may_ack
    incoming.refresh_from_db()
    assert access.can_incoming(user, "view", incoming) is sees
    # Once recalled, nobody can act on the record any more.
    for action in ("register", "assign", "start", "complete", "forward", "reply", "file"):
        assert not access.can_incoming(user, action, incoming)


def test_recall_reaches_edxml_partners_and_their_ack_comes_back(coded):
    """A local recall writes a recall package for each partner reached by edXML; the
    partner (here another unit importing it) closes its record, its clerk acknowledges,
    and the status 15 read back updates the sender's row."""
    org = coded
    document = issued(org, ["commune"])
    data, _p = services.export_document(None, document, to=[CODES["commune2"]])
    [theirs] = services.import_package(data, source="folder").incoming
    recall.recall(person(org, "province", Role.LEADER), document.pk, reason="Sai số liệu")
    [path] = (settings_outbox() / CODES["commune2"]).glob("*.xml")
    package = edxml.parse(path.read_bytes(), max_bytes=10**8)
    assert package.business_type == edxml.BUSINESS_RECALL
    assert package.business_reason == "Sai số liệu"
    result = services.import_package(path.read_bytes(), source="folder")
    assert result.kind == "recall" and result.incoming == [theirs]
    theirs.refresh_from_db()
    assert theirs.state == State.RECALLED
    again = services.import_package(path.read_bytes(), source="folder")
    assert again.incoming == [] and again.duplicates == [theirs]
    notice = RecallNotice.objects.get(incoming=theirs)
    assert notice.recall.document is None and notice.recall.reason == "Sai số liệu"
    recall.acknowledge(person(org, "commune2", Role.CLERK), notice.pk)
    ack = Package.objects.get(direction="out", kind="status", status_code="15",
                              incoming=theirs)
    services.import_package(bytes(ack.content))
    row = PartnerDelivery.objects.get(document=document, organ_id=CODES["commune2"])
    assert row.status == "recall_acknowledged"
    # A recall of something that never arrived is refused.
    other = issued(org, ["commune"])
    recall.recall(person(org, "province", Role.LEADER), other.pk, reason="x")
    stray = edxml.write_document(services.build_package(
        other, [services.organ_of(org.units["commune2"])]))
    with pytest.raises(PackageError, match="did not arrive"):
        services.import_package(stray)
