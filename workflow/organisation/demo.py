"""Demo data in the shape the seeds describe for Nghệ An (2024).

One provincial committee, the 21 district-level committees by their real names
and 460 commune-level committees. Commune names are real for TP Vinh, TX Cửa Lò,
TX Thái Hòa, TX Hoàng Mai and huyện Nam Đàn; elsewhere they are generated
placeholders ("xã Anh Sơn 01") in numbers close to the real ones, which is
enough for lists, scopes and statistics.

Everything is created only when missing (looked up by unit code, username,
document subject), so seeding twice changes nothing. Other apps add their own
demo data by defining ``extend_demo(demo: DemoData)`` in a ``demo`` module of
the app; ``seed_demo`` calls it after the core data exists. An app may also
define ``prepare_demo(demo)``, called once the people exist and before any
document is made: the signing app gives the demo leaders and units their DEMO
keys there, so documents are signed and issued through the real pipeline. And
``demo_session()``, a context manager entered around the whole seed (the signing
app opens each key once in it; search indexes everything once when it ends).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import transaction

from .models import Department, Level, Membership, Role, Unit, User
from .services import create_units

DEMO_PASSWORD = "demo-Mttq-2024"  # noqa: S105 - published on purpose, demo only
FRONT = "Ủy ban MTTQ Việt Nam"
ABBREVIATION = "MTTQ-BTT"

LEVELS = [
    ("tinh", "Cấp tỉnh", 0),
    ("huyen", "Cấp huyện", 1),
    ("xa", "Cấp xã", 2),
    ("khu-dan-cu", "Khu dân cư", 3),
]

PROVINCE = ("na", "tỉnh Nghệ An", "Nghệ An")

# (code suffix, kind, name, number of communes, real commune names or None).
# Kinds: thành phố, thị xã, huyện. Commune counts follow the 2024 figures closely
# and add up to the seeds' 460.
DISTRICTS: list[tuple[str, str, str, int, list[str] | None]] = [
    ("vinh", "thành phố", "Vinh", 25, [
        "phường Bến Thủy", "phường Cửa Nam", "phường Đội Cung", "phường Đông Vĩnh",
        "phường Hà Huy Tập", "phường Hồng Sơn", "phường Hưng Bình", "phường Hưng Dũng",
        "phường Hưng Phúc", "phường Lê Lợi", "phường Lê Mao", "phường Quán Bàu",
        "phường Quang Trung", "phường Trung Đô", "phường Trường Thi", "phường Vinh Tân",
        "xã Hưng Chính", "xã Hưng Đông", "xã Hưng Hòa", "xã Hưng Lộc", "xã Nghi Ân",
        "xã Nghi Đức", "xã Nghi Kim", "xã Nghi Liên", "xã Nghi Phú",
    ]),
    ("cua-lo", "thị xã", "Cửa Lò", 7, [
        "phường Nghi Hải", "phường Nghi Hòa", "phường Nghi Hương", "phường Nghi Tân",
        "phường Nghi Thu", "phường Nghi Thủy", "phường Thu Thủy",
    ]),
    ("thai-hoa", "thị xã", "Thái Hòa", 9, [
        "phường Hòa Hiếu", "phường Long Sơn", "phường Quang Phong", "phường Quang Tiến",
        "xã Đông Hiếu", "xã Nghĩa Hòa", "xã Nghĩa Mỹ", "xã Nghĩa Thuận", "xã Tây Hiếu",
    ]),
    ("hoang-mai", "thị xã", "Hoàng Mai", 10, [
        "phường Mai Hùng", "phường Quỳnh Dị", "phường Quỳnh Phương", "phường Quỳnh Thiện",
        "phường Quỳnh Xuân", "xã Quỳnh Lập", "xã Quỳnh Liên", "xã Quỳnh Lộc",
        "xã Quỳnh Trang", "xã Quỳnh Vinh",
    ]),
    ("anh-son", "huyện", "Anh Sơn", 21, None),
    ("con-cuong", "huyện", "Con Cuông", 13, None),
    ("dien-chau", "huyện", "Diễn Châu", 38, None),
    ("do-luong", "huyện", "Đô Lương", 32, None),
    ("hung-nguyen", "huyện", "Hưng Nguyên", 18, None),
    ("ky-son", "huyện", "Kỳ Sơn", 21, None),
    ("nam-dan", "huyện", "Nam Đàn", 19, [
        "xã Kim Liên", "thị trấn Nam Đàn", "xã Hùng Tiến", "xã Nam Anh", "xã Nam Cát",
        "xã Nam Giang", "xã Nam Hưng", "xã Nam Kim", "xã Nam Lĩnh", "xã Nam Lộc",
        "xã Nam Nghĩa", "xã Nam Thái", "xã Nam Thanh", "xã Nam Xuân", "xã Khánh Sơn",
        "xã Hồng Long", "xã Xuân Hòa", "xã Xuân Lâm", "xã Trung Phúc Cường",
    ]),
    ("nghi-loc", "huyện", "Nghi Lộc", 29, None),
    ("nghia-dan", "huyện", "Nghĩa Đàn", 24, None),
    ("que-phong", "huyện", "Quế Phong", 14, None),
    ("quy-chau", "huyện", "Quỳ Châu", 12, None),
    ("quy-hop", "huyện", "Quỳ Hợp", 21, None),
    ("quynh-luu", "huyện", "Quỳnh Lưu", 33, None),
    ("tan-ky", "huyện", "Tân Kỳ", 22, None),
    ("thanh-chuong", "huyện", "Thanh Chương", 37, None),
    ("tuong-duong", "huyện", "Tương Dương", 17, None),
    ("yen-thanh", "huyện", "Yên Thành", 38, None),
]

# The district and commune whose people get demo accounts.
DEMO_DISTRICT = "nam-dan"
DEMO_COMMUNE_INDEX = 1  # xã Kim Liên

# (name, abbreviation, own number series)
PROVINCE_DEPARTMENTS = [
    ("Văn phòng", "VP", False),
    ("Ban Dân chủ - Pháp luật", "BDCPL", False),
    ("Ban Tuyên giáo", "BTG", False),
    ("Ban Phong trào", "BPT", False),
    ("Ban Tổ chức - Kiểm tra", "BTCKT", False),
    # A council issuing under the committee's seal keeps its own series (Decree 30).
    ("Hội đồng Thi đua - Khen thưởng", "HĐTĐKT", True),
]
DISTRICT_DEPARTMENTS = [
    ("Văn phòng", "VP", False),
    ("Ban Dân chủ - Pháp luật", "BDCPL", False),
    ("Ban Phong trào", "BPT", False),
]
COMMUNE_DEPARTMENTS = [("Văn phòng", "VP", False)]

# Per demo unit: role -> (username suffix, full name, position, department name).
PEOPLE: dict[str, dict[str, tuple[str, str, str, str | None]]] = {
    "tinh": {
        Role.SPECIALIST: ("chuyenvien", "Nguyễn Thị Hương", "Chuyên viên",
                          "Ban Dân chủ - Pháp luật"),
        Role.HEAD: ("truongban", "Trần Văn Hùng", "Trưởng ban", "Ban Dân chủ - Pháp luật"),
        Role.LEADER: ("lanhdao", "Lê Minh Tuấn", "Phó Chủ tịch", None),
        Role.CLERK: ("vanthu", "Phạm Thị Lan", "Văn thư", "Văn phòng"),
        Role.MEMBER: ("uyvien", "Hoàng Văn Nam", "Ủy viên Ủy ban", None),
        Role.SECRETARY: ("thuky", "Võ Thị Mai", "Thư ký", "Văn phòng"),
        Role.ADMIN: ("quantri", "Đặng Quốc Khánh", "Quản trị hệ thống", "Văn phòng"),
    },
    "huyen": {
        Role.SPECIALIST: ("chuyenvien", "Bùi Thị Thu", "Chuyên viên", "Ban Dân chủ - Pháp luật"),
        Role.HEAD: ("truongban", "Ngô Văn Sơn", "Trưởng ban", "Ban Dân chủ - Pháp luật"),
        Role.LEADER: ("lanhdao", "Hồ Đức Thắng", "Chủ tịch", None),
        Role.CLERK: ("vanthu", "Đinh Thị Hà", "Văn thư", "Văn phòng"),
        Role.MEMBER: ("uyvien", "Phan Văn Long", "Ủy viên Ủy ban", None),
        Role.SECRETARY: ("thuky", "Lê Thị Hoa", "Thư ký", "Văn phòng"),
        Role.ADMIN: ("quantri", "Trương Công Minh", "Quản trị hệ thống", "Văn phòng"),
    },
    "xa": {
        Role.SPECIALIST: ("chuyenvien", "Nguyễn Văn Bình", "Cán bộ", "Văn phòng"),
        Role.HEAD: ("truongban", "Trần Thị Nga", "Phó Chủ tịch", "Văn phòng"),
        Role.LEADER: ("lanhdao", "Hồ Sỹ Dũng", "Chủ tịch", None),
        Role.CLERK: ("vanthu", "Lê Thị Vân", "Văn thư", None),
        Role.MEMBER: ("uyvien", "Nguyễn Đình Quang", "Ủy viên Ủy ban", None),
        Role.SECRETARY: ("thuky", "Phạm Thị Thủy", "Thư ký", None),
        Role.ADMIN: ("quantri", "Cao Văn Tiến", "Quản trị hệ thống", None),
    },
}


@dataclass
class DemoData:
    """What the seed built; handed to other apps' ``extend_demo`` hooks."""

    levels: dict[str, Level] = field(default_factory=dict)
    province: Unit | None = None
    districts: dict[str, Unit] = field(default_factory=dict)
    communes: dict[str, list[Unit]] = field(default_factory=dict)
    # "tinh" / "huyen" / "xa" -> the unit whose people have demo accounts
    demo_units: dict[str, Unit] = field(default_factory=dict)
    people: dict[tuple[str, str], User] = field(default_factory=dict)
    password: str = DEMO_PASSWORD
    created: dict[str, int] = field(default_factory=dict)
    # Set by a ``prepare_demo`` hook (the signing app) once the demo leaders and units
    # hold keys; without it, documents stop at "approved" rather than fail to sign.
    signing_ready: bool = False

    # phase -> (wall seconds, CPU seconds of the process), for ``seed_demo -v 2`` and
    # benchmarks/seed_demo_bench.py.
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)

    @contextmanager
    def phase(self, name: str):
        started = _clock()
        try:
            yield
        finally:
            self.spent(name, started)

    def spent(self, name: str, started: tuple[float, float]) -> None:
        wall, cpu = _clock()
        before = self.timings.get(name, (0.0, 0.0))
        self.timings[name] = (before[0] + wall - started[0], before[1] + cpu - started[1])

    def person(self, level: str, role: str) -> User:
        return self.people[(level, role)]

    def count(self, what: str, n: int = 1) -> None:
        self.created[what] = self.created.get(what, 0) + n


def _district_unit_name(kind: str, name: str) -> str:
    return f"{FRONT} {kind} {name}"


def commune_names(district: tuple[str, str, str, int, list[str] | None]) -> list[str]:
    _code, _kind, name, count, real = district
    if real:
        return list(real)[:count]
    return [f"xã {name} {i:02d}" for i in range(1, count + 1)]


def _place(commune_name: str, district_name: str, real: bool) -> str:
    if not real:
        return district_name
    for prefix in ("phường ", "thị trấn ", "xã "):
        if commune_name.startswith(prefix):
            return commune_name[len(prefix):]
    return commune_name


def _ensure_levels(demo: DemoData) -> None:
    existing = {level.code: level for level in Level.objects.all()}
    for code, name, rank in LEVELS:
        if code not in existing:
            existing[code] = Level.objects.create(code=code, name=name, rank=rank)
            demo.count("levels")
        demo.levels[code] = existing[code]


def _ensure_units(demo: DemoData) -> None:
    by_code = {unit.code: unit for unit in Unit.objects.filter(code__startswith=PROVINCE[0])}
    new: list[Unit] = []

    def ensure(code: str, **fields) -> Unit:
        unit = by_code.get(code)
        if unit is None:
            unit = Unit(code=code, abbreviation=ABBREVIATION, **fields)
            by_code[code] = unit
            new.append(unit)
        return unit

    code, name, place = PROVINCE
    province = ensure(code, name=f"{FRONT} {name}", level=demo.levels["tinh"], place_name=place)
    demo.province = province
    for district in DISTRICTS:
        suffix, kind, dname, _count, real = district
        dcode = f"{code}-{suffix}"
        unit = ensure(
            dcode,
            name=_district_unit_name(kind, dname),
            level=demo.levels["huyen"],
            parent=province,
            parent_name=province.name,
            place_name=dname,
        )
        demo.districts[suffix] = unit
        communes = []
        for index, cname in enumerate(commune_names(district), start=1):
            communes.append(
                ensure(
                    f"{dcode}-{index:02d}",
                    name=f"{FRONT} {cname}",
                    level=demo.levels["xa"],
                    parent=unit,
                    parent_name=unit.name,
                    place_name=_place(cname, dname, bool(real)),
                )
            )
        demo.communes[suffix] = communes
    create_units(new)  # saved level by level, parents first
    demo.count("units", len(new))
    demo.demo_units = {
        "tinh": province,
        "huyen": demo.districts[DEMO_DISTRICT],
        "xa": demo.communes[DEMO_DISTRICT][DEMO_COMMUNE_INDEX - 1],
    }


def _ensure_departments(demo: DemoData) -> None:
    existing = set(Department.objects.values_list("unit_id", "name"))
    plan: list[tuple[Unit, list[tuple[str, str, bool]]]] = [
        (demo.province, PROVINCE_DEPARTMENTS)
    ]
    for suffix, unit in demo.districts.items():
        plan.append((unit, DISTRICT_DEPARTMENTS))
        plan += [(commune, COMMUNE_DEPARTMENTS) for commune in demo.communes[suffix]]
    new = [
        Department(unit=unit, name=name, abbreviation=abbreviation, own_series=own)
        for unit, departments in plan
        for name, abbreviation, own in departments
        if (unit.pk, name) not in existing
    ]
    Department.objects.bulk_create(new, batch_size=500)
    demo.count("departments", len(new))


def _ensure_people(demo: DemoData) -> None:
    departments = {
        (d.unit_id, d.name): d
        for d in Department.objects.filter(unit__in=list(demo.demo_units.values()))
    }
    usernames = [f"{level}.{spec[0]}" for level, roles in PEOPLE.items() for spec in roles.values()]
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    # One hash for the one shared demo password: hashing it 21 times would take
    # most of the seed's time, and a published password gains nothing from salts.
    encoded = make_password(demo.password)
    for level, roles in PEOPLE.items():
        unit = demo.demo_units[level]
        for role, (suffix, full_name, title, department_name) in roles.items():
            username = f"{level}.{suffix}"
            user = users.get(username)
            if user is None:
                # Only the province administrator gets into the Django admin.
                superuser = level == "tinh" and role == Role.ADMIN
                last, _sep, first = full_name.rpartition(" ")
                user = User(
                    username=username,
                    full_name=full_name,
                    first_name=first,
                    last_name=last,
                    is_staff=superuser,
                    is_superuser=superuser,
                )
                user.password = encoded
                user.save()
                users[username] = user
                demo.count("people")
            department = departments.get((unit.pk, department_name)) if department_name else None
            _membership, created = Membership.objects.get_or_create(
                user=user, unit=unit, department=department, role=role,
                defaults={"title": title},
            )
            demo.count("memberships", int(created))
            demo.people[(level, role)] = user
    # The province's council has no staff of its own in the demo: the head of the
    # Ban Dân chủ - Pháp luật also reviews for it, so its decisions can be issued.
    council = departments.get((demo.province.pk, "Hội đồng Thi đua - Khen thưởng"))
    if council is not None:
        _membership, created = Membership.objects.get_or_create(
            user=demo.person("tinh", Role.HEAD), unit=demo.province, department=council,
            role=Role.HEAD, defaults={"title": "Ủy viên thường trực Hội đồng"},
        )
        demo.count("memberships", int(created))


def extension_hooks(name: str = "extend_demo") -> list[Callable[[DemoData], None]]:
    """``name`` functions (``extend_demo``, ``prepare_demo``) of installed apps' ``demo``
    modules, in app order."""
    hooks = []
    for config in apps.get_app_configs():
        if config.name == __name__.rpartition(".")[0]:
            continue
        try:
            module = importlib.import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
            continue
        hook = getattr(module, name, None)
        if callable(hook):
            hooks.append(hook)
    return hooks


def seed(password: str = DEMO_PASSWORD) -> DemoData:
    """Build (or complete) the demo organisation, types, people and documents.

    In one transaction, inside the ``demo_session()`` context managers of the apps'
    ``demo`` modules (the signing app opens each key once, search indexes once at the end).
    """
    demo = DemoData(password=password)
    with ExitStack() as sessions:
        for session in extension_hooks("demo_session"):
            sessions.enter_context(session())
        with transaction.atomic():
            _seed(demo)
            committing = _clock()
        demo.spent("after commit: deliveries, signature checks", committing)
        with demo.phase("search indexing"):
            sessions.close()  # runs what the sessions deferred
    return demo


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _hook_name(hook: Callable) -> str:
    return f"{hook.__module__}.{hook.__name__}"


def _seed(demo: DemoData) -> None:
    from workflow.documents.document_types import ensure_document_types

    from .demo_reorg import applied, apply_demo_reorganisation

    with demo.phase("organisation, people, document types"):
        _ensure_levels(demo)
        _ensure_units(demo)
        _ensure_departments(demo)
        _ensure_people(demo)
        types, rules = ensure_document_types()
    demo.count("document types", types)
    demo.count("review rules", rules)
    for hook in extension_hooks("prepare_demo"):
        with demo.phase(_hook_name(hook)):
            hook(demo)
    with demo.phase("documents (core)"):
        demo.count("documents", ensure_demo_documents(demo))
    if applied():
        # The 2024 tree is history now (its units merged on 1 July 2025): the other
        # apps' data was made before and moved with the reorganisation.
        return
    for hook in extension_hooks():
        with demo.phase(_hook_name(hook)):
            hook(demo)
    with demo.phase("2025 reorganisation"):
        apply_demo_reorganisation(demo)  # the 2024 tree becomes today's two levels


# --- demo documents -------------------------------------------------------------------------

# (demo unit, type code, subject, target state, drafting department or None for the
# drafter's own, recipients: "districts" / "communes" / none)
DOCUMENTS: list[tuple[str, str, str, str, str | None, str]] = [
    ("tinh", "ke-hoach", "Kế hoạch tổ chức hội nghị phản biện xã hội dự thảo Nghị quyết "
     "về chính sách hỗ trợ phát triển nông nghiệp", "issued", None, "districts"),
    ("tinh", "cong-van", "V/v đôn đốc báo cáo kết quả giám sát 6 tháng đầu năm",
     "archived", None, "districts"),
    ("tinh", "quyet-dinh", "Quyết định khen thưởng các tập thể, cá nhân có thành tích xuất "
     "sắc trong Cuộc vận động Toàn dân đoàn kết xây dựng nông thôn mới, đô thị văn minh",
     "issued", "Hội đồng Thi đua - Khen thưởng", "districts"),
    ("tinh", "bao-cao", "Báo cáo tổng hợp ý kiến, kiến nghị của cử tri trước kỳ họp "
     "Hội đồng nhân dân tỉnh", "submitted", None, ""),
    ("tinh", "thong-bao", "Thông báo kết luận Hội nghị Ban Thường trực tháng 9",
     "approved", None, "districts"),
    ("tinh", "cong-van", "V/v tham gia ý kiến dự thảo Quy chế phối hợp công tác",
     "signed", None, "districts"),
    ("tinh", "ke-hoach", "Kế hoạch giám sát việc thực hiện chính sách bảo hiểm y tế "
     "cho người cận nghèo", "draft", None, ""),
    ("tinh", "cong-van", "V/v hướng dẫn tổ chức Ngày hội Đại đoàn kết toàn dân tộc "
     "ở khu dân cư", "returned", None, "districts"),
    ("huyen", "cong-van", "V/v triển khai Cuộc vận động Toàn dân đoàn kết xây dựng nông "
     "thôn mới, đô thị văn minh năm 2025", "issued", None, "communes"),
    ("huyen", "ke-hoach", "Kế hoạch tổ chức đối thoại giữa người đứng đầu cấp ủy, chính "
     "quyền với Nhân dân", "reviewed", None, ""),
    ("xa", "bao-cao", "Báo cáo kết quả hoạt động của các Ban Công tác Mặt trận ở khu dân cư",
     "submitted", None, ""),
]

FLOW = ["draft", "submitted", "reviewed", "approved", "signed", "issued", "archived"]
# Reached only through the signing handlers ("sign" / "issue" need keys and make PDFs).
SIGNATURE_STATES = ("signed", "issued", "archived")


def _advance(demo: DemoData, level: str, document, target: str):
    """Drive a document through the approval flow with the right demo people.

    Every step goes through ``services.perform``, as the UI does: "sign" and
    "issue" are the signing app's handlers, so the demo's signed and issued
    documents carry real signed PDFs. Without signing keys they stop at "approved".
    """
    from workflow.documents import services

    if target in SIGNATURE_STATES and not demo.signing_ready:
        target = "approved"
    if target == "returned":
        document = _advance(demo, level, document, "submitted")
        return services.perform(
            demo.person(level, Role.HEAD), document.pk, "return",
            comment="Đề nghị bổ sung thời gian, địa điểm tổ chức.",
        )
    leader = demo.person(level, Role.LEADER)
    clerk = demo.person(level, Role.CLERK)
    while FLOW.index(document.state) < FLOW.index(target):
        state = document.state
        if state == "draft":
            actor, action = document.drafter, "submit"
        elif state == "submitted":
            role = document.awaiting_role
            actor = demo.person(level, Role.HEAD) if role == Role.HEAD else leader
            action = "forward"
        elif state == "reviewed":
            actor, action = leader, "approve"
        elif state == "approved":
            actor, action = leader, "sign"
        elif state == "signed":
            actor, action = clerk, "issue"
        else:
            actor, action = clerk, "archive"
        document = services.perform(actor, document.pk, action)
    return document


def ensure_demo_documents(demo: DemoData) -> int:
    """Create the demo documents that are missing, each in its target state.

    A document left at "approved" by a seed without signing keys is signed and
    issued now; one already past the signature is left alone.
    """
    from workflow.documents import services
    from workflow.documents.models import Document, DocumentType

    types = {t.code: t for t in DocumentType.objects.all()}
    units = list(demo.demo_units.values())
    # After the 2025 reorganisation a document still in the flow lives in its unit's
    # successor (Nam Đàn's in the province): look there too, by subject.
    units += [u.merged_into_id for u in units if u.merged_into_id]
    existing = {
        (level, d.subject): d
        for d in Document.objects.filter(unit__in=units)
        for level, unit in demo.demo_units.items()
        if d.unit_id in (unit.pk, unit.merged_into_id)
    }
    created = 0
    for level, type_code, subject, target, department_name, recipients in DOCUMENTS:
        unit = demo.demo_units[level]
        if (level, subject) in existing:
            document = existing[(level, subject)]
            if (demo.signing_ready and target in SIGNATURE_STATES
                    and document.state == "approved"):
                _advance(demo, level, document, target)
            continue
        if not unit.is_active:
            continue  # merged away: documents are drafted in today's units
        data: dict = {
            "subject": subject,
            "document_type": types[type_code],
            "body": f"<p>{subject}.</p><p>Nội dung văn bản mẫu dùng để trình diễn hệ thống.</p>",
        }
        if department_name:
            data["drafting_department"] = Department.objects.get(unit=unit, name=department_name)
        if recipients == "districts":
            recipient_ids = [u.pk for u in demo.districts.values()]
        elif recipients == "communes":
            recipient_ids = [u.pk for u in Unit.objects.filter(parent=unit)]
        else:
            recipient_ids = []
        document = services.create_document(
            demo.person(level, Role.SPECIALIST), unit=unit, data=data,
            recipient_unit_ids=recipient_ids,
        )
        _advance(demo, level, document, target)
        created += 1
    return created
