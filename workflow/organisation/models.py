"""The organisation tree as data: levels, units, departments, people and roles.

Units form a tree of any depth. Each unit keeps a materialised ``path`` of
ancestor ids so "this unit and everything under it" is one indexed prefix
query, whatever the depth. Units are never deleted: they are renamed, merged
into another unit or retired, and their documents stay attached to them.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.Model):
    """An administrative level (tỉnh, huyện, xã, khu dân cư…): configuration, not code."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    rank = models.PositiveSmallIntegerField(
        _("rank"), help_text=_("0 for the top level, growing downwards.")
    )

    class Meta:
        ordering = ["rank"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")

    def __str__(self) -> str:
        return self.name


class Unit(models.Model):
    """A Fatherland Front committee (or any body that issues documents)."""

    name = models.CharField(_("name"), max_length=255)
    parent_name = models.CharField(
        _("parent body name"),
        max_length=255,
        blank=True,
        help_text=_("Directly managing body printed above the name in the document header."),
    )
    abbreviation = models.CharField(
        _("issuer abbreviation"),
        max_length=40,
        help_text=_("Used in document symbols, e.g. MTTQ-BTT."),
    )
    place_name = models.CharField(
        _("place name"), max_length=100, blank=True, help_text=_("Printed before the date.")
    )
    code = models.CharField(_("code"), max_length=40, unique=True)
    # Issue #15: the national organisation code (mã định danh, QCVN 102 / Decision
    # 20/2020/QĐ-TTg, e.g. 000.00.00.H41) that edXML packages name the unit by.
    organ_id = models.CharField(_("national organisation code"), max_length=40, blank=True,
                                db_index=True, help_text=_("Mã định danh, e.g. 000.00.00.H41."))
    level = models.ForeignKey(Level, on_delete=models.PROTECT, verbose_name=_("level"))
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent unit"),
    )
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    is_active = models.BooleanField(_("active"), default=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_units",
        verbose_name=_("merged into"),
    )
    # The day the unit came into being (a unit made by a reorganisation); empty for
    # units that existed before the system's history starts. The tree as of a date
    # shows units with valid_from <= date < retired_at.
    valid_from = models.DateField(_("exists since"), null=True, blank=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        constraints = [
            models.UniqueConstraint(fields=["organ_id"], condition=~models.Q(organ_id=""),
                                    name="unit_organ_id_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count("/") - 1 if self.path else 0

    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to the parent of this unit."""
        return [int(part) for part in self.path.strip("/").split("/")[:-1] if part]

    def compute_path(self) -> str:
        prefix = self.parent.path if self.parent_id else "/"
        return f"{prefix}{self.pk}/"


class UnitHistory(models.Model):
    """What a unit was called and where it hung *until* ``valid_to``.

    Written whenever a unit is renamed or moved; the current values live on the unit.
    The tree as of a day takes, for each unit, the earliest period ending after that day
    (:func:`workflow.organisation.history.tree_as_of`).
    """

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="history")
    valid_to = models.DateField(_("valid until"))
    name = models.CharField(_("name"), max_length=255)
    abbreviation = models.CharField(_("issuer abbreviation"), max_length=40)
    parent = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["unit", "valid_to", "pk"]
        verbose_name = _("unit history")
        verbose_name_plural = _("unit history")

    def __str__(self) -> str:
        return f"{self.name} (→ {self.valid_to})"


class Reorganisation(models.Model):
    """A reorganisation plan that was applied; a plan is applied once (by its key)."""

    key = models.CharField(_("plan"), max_length=120, unique=True)
    effective_date = models.DateField(_("effective date"))
    checksum = models.CharField(max_length=64)
    applied_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.ForeignKey(
        "User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    report = models.JSONField(default=dict)

    class Meta:
        ordering = ["-applied_at"]
        verbose_name = _("reorganisation")
        verbose_name_plural = _("reorganisations")

    def __str__(self) -> str:
        return self.key


class Department(models.Model):
    """A department (ban, phòng) inside a unit."""

    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="departments", verbose_name=_("unit")
    )
    name = models.CharField(_("name"), max_length=255)
    abbreviation = models.CharField(_("abbreviation"), max_length=20, blank=True)
    own_series = models.BooleanField(
        _("issues its own number series"),
        default=False,
        help_text=_(
            "A council or board issuing under the unit's seal keeps a separate series "
            "(Decree 30, Art. 15)."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["unit", "name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(fields=["unit", "name"], name="department_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person. Roles are held per unit through :class:`Membership`."""

    full_name = models.CharField(_("full name"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return str(self)


class Role(models.TextChoices):
    SPECIALIST = "specialist", _("Specialist")
    HEAD = "head", _("Department head")
    LEADER = "leader", _("Leader")
    CLERK = "clerk", _("Clerk")
    MEMBER = "member", _("Committee member")
    SECRETARY = "secretary", _("Meeting secretary")
    ADMIN = "admin", _("Administrator")


class Membership(models.Model):
    """A role a person holds in a unit, optionally inside one department."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("user")
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="memberships", verbose_name=_("unit")
    )
    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="memberships",
        verbose_name=_("department"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    title = models.CharField(
        _("position"), max_length=120, blank=True, help_text=_("e.g. Phó Chủ tịch")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "unit", "department", "role"], name="membership_unique_role"
            ),
        ]
        indexes = [models.Index(fields=["unit", "role"])]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.unit}"
