"""Credentials, password hashes, ACL and config rendering for the broker."""

from __future__ import annotations

import base64
import hashlib
import re
import stat

import pytest

from services.broker_setup.__main__ import main as setup_main
from services.broker_setup.broker_files import (
    ACL_TEMPLATE,
    CONF_TEMPLATE,
    acl_blocks,
    render_acl,
    rewrite_conf,
)
from services.broker_setup.credentials import ensure_passwords, hash_password
from services.broker_setup.users import HUMAN_USERS, USERS, parse_extra_logins


def test_hash_matches_mosquitto_passwd_format():
    # a line written by `mosquitto_passwd -b pw alice secret` (mosquitto 2.0.11)
    expected = (
        "$7$101$x9ckNCIC3BmavbTR$OkQ1J/lf2Uwl7o5wBQi8sju69qj5SY+t+z1aGzIUqKluiaGuaH1M"
        "b3WXCly+nB6sFyMx2FIEaIyjqDT2oApB9w=="
    )
    assert hash_password("secret", base64.b64decode("x9ckNCIC3BmavbTR")) == expected


def test_hash_is_salted():
    a, b = hash_password("same"), hash_password("same")
    assert a != b
    _, kind, iters, salt, digest = a.split("$")
    assert (kind, iters) == ("7", "101")
    assert base64.b64decode(digest) == hashlib.pbkdf2_hmac(
        "sha512", b"same", base64.b64decode(salt), 101
    )


def test_passwords_are_random_private_and_stable(tmp_path):
    first = ensure_passwords(tmp_path, USERS, environ={})
    assert len(set(first.values())) == len(USERS)
    assert all(len(pw) >= 32 for pw in first.values())
    for user in USERS:
        assert stat.S_IMODE((tmp_path / user).stat().st_mode) == 0o600
    assert ensure_passwords(tmp_path, USERS, environ={}) == first


def test_env_pins_a_password(tmp_path):
    ensure_passwords(tmp_path, ["wican"], environ={})
    pinned = ensure_passwords(
        tmp_path,
        ["wican", "charge-controller"],
        environ={
            "CANBRIDGE_PASSWORD_WICAN": "from-env",
            "CANBRIDGE_PASSWORD_CHARGE_CONTROLLER": "cc",
        },
    )
    assert pinned == {"wican": "from-env", "charge-controller": "cc"}
    assert (tmp_path / "wican").read_text().strip() == "from-env"


def test_bad_user_name_is_rejected(tmp_path):
    with pytest.raises(ValueError, match="may only use"):
        ensure_passwords(tmp_path, ["a b"], environ={})


def test_acl_has_a_block_for_exactly_the_known_users():
    blocks = re.findall(r"^user (\S+)$", ACL_TEMPLATE.read_text(), re.M)
    assert sorted(blocks) == sorted(USERS)
    assert set(HUMAN_USERS) <= set(USERS)


def test_acl_renders_the_base_topic():
    text = render_acl("home")
    assert "@BASE@" not in text
    assert "topic readwrite home/api/#" in text


def test_project_config_refuses_anonymous_and_persists():
    lines = CONF_TEMPLATE.read_text().splitlines()
    assert "allow_anonymous false" in lines
    assert "persistence true" in lines


def test_rewrite_conf_replaces_only_named_keys():
    out = rewrite_conf(
        "# listener comment\nlistener 1883\nallow_anonymous false\n", {"listener": "1999 127.0.0.1"}
    )
    assert out == "# listener comment\nlistener 1999 127.0.0.1\nallow_anonymous false\n"
    with pytest.raises(ValueError, match="acl_file"):
        rewrite_conf("listener 1883\n", {"acl_file": "/x"})


def test_init_and_show_commands(tmp_path, capsys):
    secrets, auth = tmp_path / "secrets", tmp_path / "auth"
    rc = setup_main(
        [
            "init",
            "--secrets-dir",
            str(secrets),
            "--auth-dir",
            str(auth),
            "--data-dir",
            "",
            "--base-topic",
            "home",
        ]
    )
    assert rc == 0
    passwd = (auth / "passwd").read_text().splitlines()
    assert sorted(line.split(":")[0] for line in passwd) == sorted(USERS)
    assert "home/api/#" in (auth / "acl").read_text()
    assert (auth / "health.password").read_text() == (secrets / "health").read_text()
    capsys.readouterr()
    assert setup_main(["show", "--secrets-dir", str(secrets)]) == 0
    shown = capsys.readouterr().out
    assert (secrets / "wican").read_text().strip() in shown
    assert (secrets / "api").read_text().strip() not in shown


def test_extra_logins_parse_and_refuse_mistakes():
    assert parse_extra_logins(" evcc=consumer,wican-van=wican  grafana=consumer ") == {
        "evcc": "consumer",
        "wican-van": "wican",
        "grafana": "consumer",
    }
    assert parse_extra_logins("") == {}
    for spec, reason in [
        ("evcc", "is not <login>=<user>"),
        ("evcc=nobody", "unknown user 'nobody'"),
        ("consumer=admin", "already taken"),
        ("evcc=consumer evcc=admin", "already taken"),
        ("a/b=consumer", "may only use"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_extra_logins(spec)


def test_an_extra_login_gets_a_copy_of_its_users_rights():
    text = render_acl("home", extra={"wican-van": "wican"})
    blocks = acl_blocks(text)
    assert blocks["wican-van"] == blocks["wican"]
    assert "topic write wican/+/can/rx" in blocks["wican-van"]
    with pytest.raises(ValueError, match="no user 'nobody'"):
        render_acl("home", extra={"x": "nobody"})


def test_init_creates_extra_logins_and_show_prints_them(tmp_path, capsys):
    secrets, auth = tmp_path / "secrets", tmp_path / "auth"
    args = ["--secrets-dir", str(secrets)]
    extra = ["--extra-logins", "evcc=consumer"]
    assert setup_main(["init", *args, "--auth-dir", str(auth), "--data-dir", "", *extra]) == 0
    assert "evcc:" in (auth / "passwd").read_text()
    assert "user evcc\n" in (auth / "acl").read_text()
    capsys.readouterr()
    assert setup_main(["show", *args, *extra]) == 0
    assert (secrets / "evcc").read_text().strip() in capsys.readouterr().out
    assert setup_main(["init", *args, "--auth-dir", str(auth), "--extra-logins", "x=nobody"]) == 2
    assert "unknown user 'nobody'" in capsys.readouterr().err


def test_project_config_binds_client_ids_to_logins():
    assert "use_username_as_clientid true" in CONF_TEMPLATE.read_text().splitlines()
