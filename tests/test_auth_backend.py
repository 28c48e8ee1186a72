"""The session's user is read with prepared SQL: the same person as through the ORM."""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY, get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD
from workflow.organisation.backends import ModelBackend, user_by_pk
from workflow.organisation.models import Role


def test_user_by_pk_is_the_orm_s_user(org):
    person = org.person("province", Role.LEADER)
    fresh = get_user_model().objects.get(pk=person.pk)
    loaded = user_by_pk(str(person.pk))
    for field in get_user_model()._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(fresh, field.attname), field.name
    assert user_by_pk(10**9) is None and user_by_pk("abc") is None and user_by_pk(None) is None


def test_backend_refuses_inactive_people(org):
    person = org.person("province", Role.MEMBER)
    assert ModelBackend().get_user(person.pk) == person
    person.is_active = False
    person.save(update_fields=["is_active"])
    assert ModelBackend().get_user(person.pk) is None


def test_login_uses_it_and_sessions_of_the_stock_backend_still_work(org):
    person = org.person("province", Role.MEMBER)
    client = Client()
    assert client.login(username=person.username, password=PASSWORD)
    assert client.session[BACKEND_SESSION_KEY] == "workflow.organisation.backends.ModelBackend"
    assert client.get(reverse("meetings:list")).status_code == 200
    older = Client()
    older.force_login(person, backend="django.contrib.auth.backends.ModelBackend")
    assert older.session[BACKEND_SESSION_KEY] == "django.contrib.auth.backends.ModelBackend"
    assert older.get(reverse("meetings:list")).status_code == 200
    assert issubclass(ModelBackend, DjangoModelBackend)


def test_a_wrong_password_is_hashed_once_and_login_fails_cleanly(org, monkeypatch):
    from django.contrib.auth.hashers import MD5PasswordHasher

    person = org.person("province", Role.MEMBER)
    calls = []
    original = MD5PasswordHasher.verify
    monkeypatch.setattr(MD5PasswordHasher, "verify",
                        lambda self, *a: calls.append(1) or original(self, *a))
    client = Client()
    assert not client.login(username=person.username, password="wrong-Pass-1")
    assert len(calls) == 1
    assert not client.login(username="nobody-here", password="wrong-Pass-1")
    assert client.login(username=person.username, password=PASSWORD)
