"""Small builders for test data: an organisation tree with one person per role per unit."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile

from workflow.documents import services
from workflow.documents.models import Document, DocumentType
from workflow.organisation.models import Department, Level, Membership, Role, Unit, User
from workflow.organisation.services import create_unit

PASSWORD = "demo-Pass-2024"


@dataclass
class Org:
    levels: dict[str, Level] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    people: dict[tuple[str, str], User] = field(default_factory=dict)
    types: dict[str, DocumentType] = field(default_factory=dict)

    def person(self, unit: str, role: str) -> User:
        return self.people[(unit, role)]


def make_types() -> dict[str, DocumentType]:
    types = {}
    for code, name, abbr in [
        ("cong-van", "Công văn", ""),
        ("ke-hoach", "Kế hoạch", "KH"),
        ("bao-cao", "Báo cáo", "BC"),
        ("thong-bao", "Thông báo", "TB"),
    ]:
        types[code], _ = DocumentType.objects.get_or_create(
            code=code, defaults={"name": name, "abbreviation": abbr}
        )
    return types


def make_org() -> Org:
    """province ─ district ─ {commune, commune2}; plus sibling district2.

    Every unit has one department "Ban Dân chủ" and one person per role.
    """
    org = Org()
    for rank, (code, name) in enumerate([("tinh", "Tỉnh"), ("huyen", "Huyện"), ("xa", "Xã")]):
        org.levels[code], _ = Level.objects.get_or_create(
            code=code, defaults={"name": name, "rank": rank}
        )
    spec = [
        ("province", "Ủy ban MTTQ Việt Nam tỉnh Nghệ An", "tinh", None),
        ("district", "Ủy ban MTTQ Việt Nam huyện Nam Đàn", "huyen", "province"),
        ("district2", "Ủy ban MTTQ Việt Nam huyện Đô Lương", "huyen", "province"),
        ("commune", "Ủy ban MTTQ Việt Nam xã Kim Liên", "xa", "district"),
        ("commune2", "Ủy ban MTTQ Việt Nam xã Nam Giang", "xa", "district"),
    ]
    for key, name, level, parent in spec:
        unit = create_unit(
            name=name,
            code=f"t-{key}",
            level=org.levels[level],
            abbreviation="MTTQ-BTT",
            parent=org.units.get(parent) if parent else None,
            place_name="Nghệ An",
        )
        org.units[key] = unit
        dept = Department.objects.create(unit=unit, name="Ban Dân chủ", abbreviation="BDC")
        org.departments[key] = dept
        for role in Role.values:
            user = User.objects.create_user(
                username=f"{key}-{role}", password=PASSWORD, full_name=f"{role} {key}"
            )
            Membership.objects.create(
                user=user,
                unit=unit,
                department=dept if role in (Role.SPECIALIST, Role.HEAD) else None,
                role=role,
                title="Phó Chủ tịch" if role == Role.LEADER else "",
            )
            org.people[(key, role)] = user
    org.types = make_types()
    return org


def pdf_bytes(text: str = "Hello", pages: int = 1) -> bytes:
    """A tiny valid PDF made with pypdf (blank pages, text in metadata)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def draft(org: Org, unit: str = "province", type_code: str = "cong-van", **extra) -> Document:
    user = org.person(unit, Role.SPECIALIST)
    data = {"subject": extra.pop("subject", "V/v tổ chức hội nghị"),
            "document_type": org.types[type_code],
            "body": extra.pop("body", "<p>Nội dung văn bản.</p>"), **extra}
    return services.create_document(user, unit=org.units[unit], data=data)


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def advance(org: Org, document: Document, target: str) -> Document:
    """Drive a document through the flow up to ``target`` state using the right people."""
    unit = next(k for k, u in org.units.items() if u.pk == document.unit_id)
    order = ["submitted", "reviewed", "approved", "signed", "issued", "archived"]
    steps = {
        "submitted": (Role.SPECIALIST, "submit"),
        "reviewed": (Role.HEAD, "forward"),
        "approved": (Role.LEADER, "approve"),
        "signed": (Role.LEADER, "sign"),
        "issued": (Role.CLERK, "issue"),
        "archived": (Role.CLERK, "archive"),
    }
    if target == "returned":
        document = advance(org, document, "submitted")
        return services.transition(org.person(unit, Role.HEAD), document.pk, "return",
                                   comment="Sửa lại")
    if target == "withdrawn":
        return services.transition(document.drafter, document.pk, "withdraw", comment="Thôi")
    for state in order:
        document.refresh_from_db()
        if order.index(state) < order.index(target) + 1 and (
            order.index(state) >= (order.index(document.state) + 1 if document.state in order
                                   else 0)
        ):
            role, action = steps[state]
            actor = document.drafter if action == "submit" else org.person(unit, role)
            document = services.transition(actor, document.pk, action)
        if document.state == target:
            break
    return document
