"""A real mosquitto process with the project's config, for tests and `make demo`.

Everything lives in one folder: conf, passwd, acl, data, secrets/<user>.
Only the listener and the file paths differ from the container.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from services.broker_setup.broker_files import CONF_TEMPLATE, render_acl, rewrite_conf
from services.broker_setup.credentials import (
    ensure_passwords,
    generate_password,
    write_password_file,
)
from services.broker_setup.users import TOKENS, USERS
from shared.settings import MqttSettings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise FileNotFoundError("mosquitto is not installed (make test installs it with apt)")


class PortTakenError(RuntimeError):
    """mosquitto could not bind its port: another process holds it."""


class LocalBroker:
    def __init__(
        self,
        root: Path | None = None,
        port: int | None = None,
        base_topic: str = "canbridge",
        host: str = "127.0.0.1",
        extra_logins: Mapping[str, str] | None = None,
    ) -> None:
        self.root = Path(root or tempfile.mkdtemp(prefix="canbridge-broker-"))
        self.port = port or free_port()
        #: a port picked here may be taken by someone else before mosquitto binds it (an
        #: outgoing connection gets its local port from the same range): start() picks again
        self._may_move = port is None
        self.host = host
        self.base_topic = base_topic
        #: extra login -> the user whose rights it has (CANBRIDGE_EXTRA_LOGINS)
        self.extra_logins = dict(extra_logins or {})
        self.proc: subprocess.Popen | None = None
        self.log_path = self.root / "mosquitto.log"
        self.secrets_dir = self.root / "secrets"
        self.passwords: dict[str, str] = {}
        self._prepare()

    def _prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "data").mkdir(exist_ok=True)
        self.passwords = ensure_passwords(self.secrets_dir, USERS, environ={})
        # extra logins (the tests' spare logins, benches) live in memory only: a durable
        # file each would cost an fsync per login at every broker start
        self.passwords.update({login: generate_password() for login in self.extra_logins})
        self.tokens = ensure_passwords(self.secrets_dir, TOKENS, environ={})
        write_password_file(self.root / "passwd", self.passwords)
        (self.root / "acl").write_text(render_acl(self.base_topic, extra=self.extra_logins))
        self._write_conf()
        self._hand_to_broker_user()

    def _write_conf(self) -> None:
        conf = rewrite_conf(
            CONF_TEMPLATE.read_text(),
            {
                "listener": f"{self.port} {self.host}",
                "password_file": str(self.root / "passwd"),
                "acl_file": str(self.root / "acl"),
                "persistence_location": str(self.root / "data") + "/",
            },
        )
        (self.root / "mosquitto.conf").write_text(conf)

    def _hand_to_broker_user(self) -> None:
        """As root, mosquitto drops to the `mosquitto` user before reading its files."""
        if os.geteuid() != 0:
            return
        try:
            entry = pwd.getpwnam("mosquitto")
        except KeyError:
            return
        os.chmod(self.root, 0o755)
        for path in (self.root / "passwd", self.root / "acl", self.root / "data"):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def password_file(self, user: str) -> Path:
        return self.secrets_dir / user

    def mqtt_settings(self, user: str, **overrides: object) -> MqttSettings:
        """How a client logs in here as `user` (tests, benchmarks); `overrides` set the
        other MqttSettings fields."""
        return MqttSettings.model_validate(
            {
                "host": self.host,
                "port": self.port,
                "username": user,
                "password_file": self.password_file(user),
                **overrides,
            }
        )

    def start(self, timeout: float = 10.0) -> LocalBroker:
        for _attempt in range(5):
            try:
                return self._start(timeout)
            except PortTakenError:
                if not self._may_move:
                    raise
                self.port = free_port()
                self._write_conf()
        return self._start(timeout)

    def _start(self, timeout: float) -> LocalBroker:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        since = log.tell()  # the log is appended to: what this start said begins here
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.root / "mosquitto.conf")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                with open(self.log_path, "rb") as written:
                    written.seek(since)
                    said = written.read().decode(errors="replace")[-2000:]
                if "Address already in use" in said:
                    raise PortTakenError(f"port {self.port} is taken: {said}")
                hint = (
                    " (started as root, mosquitto reads its files as user `mosquitto`: "
                    f"every folder above {self.root} must be reachable by it)"
                    if os.geteuid() == 0
                    else ""
                )
                raise RuntimeError(f"mosquitto exited{hint}: {said}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    pass
            except OSError:
                time.sleep(0.05)
                continue
            if self.proc.poll() is None:  # not another listener on a port mosquitto lost
                self._may_move = False  # clients know this port now: a restart keeps it
                return self
        raise TimeoutError(f"mosquitto did not listen on {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def crash(self) -> None:
        """SIGKILL: no clean shutdown, so nothing is saved beyond the last autosave."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def env_for(self, user: str) -> dict[str, str]:
        """Environment variables that point a service at this broker as `user`."""
        token = {"CANBRIDGE_TOKEN_FILE": str(self.secrets_dir / "api-token")}
        return {
            **(token if user == "api" else {}),
            "CANBRIDGE_MQTT__HOST": self.host,
            "CANBRIDGE_MQTT__PORT": str(self.port),
            "CANBRIDGE_MQTT__USERNAME": user,
            "CANBRIDGE_MQTT__PASSWORD_FILE": str(self.password_file(user)),
            "CANBRIDGE_BASE_TOPIC": self.base_topic,
        }
