"""`python -m services.broker_setup init|show`: the broker's users at first start.

init (the `broker-setup` container of compose.yaml, run as root before the broker):
  creates a random password per user in the secrets folder (kept on later runs;
  `CANBRIDGE_PASSWORD_<USER>` pins one), writes the hashed password file and the
  ACL for the broker, and hands each file to the uid that reads it. Extra logins
  (`CANBRIDGE_EXTRA_LOGINS="evcc=consumer wican-van=wican"`) get the rights of
  the user they name, and passwords of their own.
show: prints the logins a person types into other tools (admin, consumer, wican and
  the extra logins).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from services.broker_setup.broker_files import MOSQUITTO_DIR, render_acl
from services.broker_setup.credentials import ensure_passwords, write_password_file
from services.broker_setup.users import (
    EXTRA_LOGINS_ENV,
    HUMAN_USERS,
    TOKENS,
    USERS,
    all_logins,
    parse_extra_logins,
)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for child in path.rglob("*"):
        os.chown(child, uid, gid)


def cmd_init(args: argparse.Namespace) -> int:
    secrets_dir, auth_dir = Path(args.secrets_dir), Path(args.auth_dir)
    try:
        extra = parse_extra_logins(args.extra_logins)
    except ValueError as exc:
        print(f"broker-setup: {exc}", file=sys.stderr)
        return 2
    passwords = ensure_passwords(secrets_dir, all_logins(extra))
    ensure_passwords(secrets_dir, TOKENS)  # not broker users: kept out of the password file
    auth_dir.mkdir(parents=True, exist_ok=True)
    write_password_file(auth_dir / "passwd", passwords)
    template = (Path(args.config_dir) / "acl.template").read_text()
    (auth_dir / "acl").write_text(render_acl(args.base_topic, template, extra))
    shutil.copyfile(secrets_dir / "health", auth_dir / "health.password")
    os.chmod(auth_dir / "health.password", 0o600)
    if os.geteuid() == 0:
        _chown_tree(auth_dir, args.broker_uid, args.broker_uid)
        if args.data_dir:
            _chown_tree(Path(args.data_dir), args.broker_uid, args.broker_uid)
        _chown_tree(secrets_dir, args.service_uid, args.service_uid)
    print(
        f"broker-setup: {len(passwords)} users ready "
        f"({', '.join(sorted(passwords))}); passwords in {secrets_dir}, "
        f"hashes and ACL in {auth_dir}. `make passwords` shows yours."
    )
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    secrets_dir = Path(args.secrets_dir)
    try:
        extra = parse_extra_logins(args.extra_logins)
    except ValueError as exc:
        print(f"broker-setup: {exc}", file=sys.stderr)
        return 2
    shown = {user: USERS[user] for user in HUMAN_USERS}
    shown.update({login: f"rights of {user}" for login, user in extra.items()})
    for login, what in shown.items():
        path = secrets_dir / login
        if not path.exists():
            print(f"{path} is missing: start the stack once (docker compose up)", file=sys.stderr)
            return 1
        print(f"{login:10} {path.read_text().strip():34} {what}")
    token = secrets_dir / "api-token"
    if token.exists():
        print(f"{'api-token':10} {token.read_text().strip():34} API write endpoints (Bearer)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.broker_setup")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create passwords, password file and ACL")
    init.add_argument("--secrets-dir", default="/secrets")
    init.add_argument("--auth-dir", default="/mosquitto/auth")
    init.add_argument("--data-dir", default="/mosquitto/data")
    init.add_argument("--config-dir", default=str(MOSQUITTO_DIR))
    init.add_argument("--base-topic", default=os.environ.get("CANBRIDGE_BASE_TOPIC", "canbridge"))
    extra_help = f"extra logins, e.g. 'evcc=consumer wican-van=wican' (default ${EXTRA_LOGINS_ENV})"
    init.add_argument(
        "--extra-logins", default=os.environ.get(EXTRA_LOGINS_ENV, ""), help=extra_help
    )
    init.add_argument("--broker-uid", type=int, default=1883)
    init.add_argument("--service-uid", type=int, default=10001)
    init.set_defaults(func=cmd_init)
    show = sub.add_parser("show", help="print admin, consumer and wican passwords")
    show.add_argument("--secrets-dir", default="/secrets")
    show.add_argument(
        "--extra-logins", default=os.environ.get(EXTRA_LOGINS_ENV, ""), help=extra_help
    )
    show.set_defaults(func=cmd_show)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
