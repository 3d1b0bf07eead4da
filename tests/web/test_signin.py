"""Sign-in throttling leaves ordinary use alone: a few mistakes lock nobody out, and a teacher
who mistyped signs in with the right password."""

from __future__ import annotations

import pytest

from tests.attacks.test_sign_in_throttling import ATTACKER, PASSWORD, PRINCIPAL, fail, sign_in
from tests.attacks.test_sign_in_throttling import signed_in as is_signed_in

pytestmark = pytest.mark.django_db


def test_a_few_mistakes_do_not_lock_anyone_out(demo):
    fail(PRINCIPAL, ATTACKER, 9)
    client, status, _body = sign_in(PRINCIPAL, PASSWORD, ATTACKER)
    assert status == 302 and is_signed_in(client)


def test_a_mistyped_password_says_so_without_a_lock(demo):
    _client, status, body = sign_in(PRINCIPAL, "sai", ATTACKER)
    assert status == 200
    assert "Sai tên đăng nhập hoặc mật khẩu" in body and "SIGNIN_LOCKED" not in body
