"""Passwords are stored with Argon2id at OWASP's parameters; older PBKDF2 hashes still log in and are upgraded."""

import pytest
from django.contrib.auth.hashers import check_password, make_password

from users.models import User

pytestmark = pytest.mark.django_db(databases="__all__")


def test_a_new_password_is_stored_with_argon2id_at_owasps_parameters():
    encoded = make_password("correct horse battery staple")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert check_password("correct horse battery staple", encoded)
    assert not check_password("wrong", encoded)


def test_an_old_pbkdf2_hash_still_logs_in_and_is_rehashed_with_argon2(settings):
    # given: a hash made with Django's previous default
    old = make_password("an old Passw0rd", hasher="pbkdf2_sha256")
    user = User(id=1, email="old@example.com", password=old)
    user.save = lambda **kwargs: None  # the upgrade saves; here only the new hash matters
    # when
    assert user.check_password("an old Passw0rd")
    # then
    assert user.password.startswith("argon2$argon2id$")
