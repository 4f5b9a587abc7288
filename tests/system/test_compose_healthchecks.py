"""The container health checks in compose.yaml, run as Docker runs them.

They are shell, not Python, so they can run every 2 s on a Raspberry Pi: the services'
check must give the verdict of `python -m shared.healthcheck` on the heartbeat file, the
broker's must really ask the broker (now and then), the API's must really get /livez.
"""

# CASES below makes a file in steps, as tuples of calls that return None
# mypy: disable-error-code="func-returns-value"

from __future__ import annotations

import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from compose_file import SERVICES, run_check
from harness import Api, answering

from services.broker_setup.local_broker import free_port
from shared.healthcheck import check
from shared.heartbeat import touch

pytestmark = pytest.mark.integration  # runs the checks in a shell, starts the api

REASON = "CAN interface socketcan 'can0' cannot be opened: No such device"
HEARTBEAT_CHECKED = {
    "wican-status",
    "wican-soc",
    "bic-can-gateway",
    "charge-controller",
    "wican-sim",
    "bic-sim",
    "meter-sim",
}


def test_every_python_service_but_the_api_uses_the_heartbeat_check():
    long_running = {
        name for name, s in SERVICES.items() if s.get("restart") != "no" and name != "mosquitto"
    }
    assert long_running == HEARTBEAT_CHECKED | {"api"}
    the_check = SERVICES["wican-soc"]["healthcheck"]
    for name in HEARTBEAT_CHECKED:
        assert SERVICES[name]["healthcheck"] == the_check, name
    kind, script = the_check["test"]
    assert kind == "CMD-SHELL" and "/tmp/canbridge-heartbeat" in script


def test_no_health_check_starts_python():
    # a Python start-up per check costs a Pi about a second of CPU: not every 2 s
    for name, s in SERVICES.items():
        if "healthcheck" in s:
            assert "python" not in " ".join(s["healthcheck"]["test"]), name


def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


# name -> (how the file is made, the Python check's verdict is the reference)
CASES = {
    "fresh": lambda p: touch(p, 10),
    "fresh, 25 s old": lambda p: (touch(p, 10), _age(p, 25)),
    "fractional interval, in time": lambda p: (touch(p, 2.5), _age(p, 6)),
    "stale": lambda p: (touch(p, 10), _age(p, 40)),
    "fractional interval, stale": lambda p: (touch(p, 0.5), _age(p, 5)),
    "long interval of its own section": lambda p: (touch(p, 60), _age(p, 170)),
    "long interval, stale": lambda p: (touch(p, 60), _age(p, 185)),
    "problem": lambda p: touch(p, 10, REASON),
    "problem and stale: the silence first": lambda p: (touch(p, 10, REASON), _age(p, 40)),
    "problem with shell characters": lambda p: touch(p, 10, "a\\nb $HOME `id` 'x' %s"),
    "missing": lambda p: None,
    "empty": lambda p: p.write_text(""),
    "no interval": lambda p: p.write_text("ten\n"),
}


@pytest.mark.parametrize("case", CASES)
def test_heartbeat_check_gives_the_python_checks_verdict(case, tmp_path):
    health = tmp_path / "canbridge-heartbeat"
    CASES[case](health)
    ok, reason = check(health)
    out = run_check("wican-soc", env={"CANBRIDGE_HEALTH_FILE": str(health)})
    assert (out.returncode == 0) is ok, (case, out.stdout, out.stderr)
    assert out.returncode in (0, 1) and out.stderr == ""
    if reason.startswith("last heartbeat"):
        # ages in whole seconds may differ by one rounding; the wording does not
        assert out.stdout.startswith("last heartbeat "), out.stdout
        assert ("limit" in out.stdout) is ("limit" in reason)
    else:
        assert out.stdout == reason + "\n"


def test_heartbeat_check_reads_the_default_file_without_the_variable(tmp_path):
    health = tmp_path / "hb"
    default = {"/tmp/canbridge-heartbeat": str(health)}
    out = run_check("wican-soc", replace=default)
    assert out.returncode == 1
    assert out.stdout == f"{health} missing: not yet connected to the broker\n"
    touch(health, 10)
    out = run_check("wican-soc", replace=default)
    assert out.returncode == 0


def test_a_running_service_passes_the_heartbeat_check(service, probe, tmp_path):
    health = tmp_path / "hb"
    watcher = probe()
    watcher.subscribe("canbridge/api/heartbeat")
    Api(service, CANBRIDGE_HEALTH_FILE=str(health))
    watcher.wait_for("canbridge/api/heartbeat")
    watcher.wait(health.exists, "heartbeat file")
    out = run_check("wican-soc", env={"CANBRIDGE_HEALTH_FILE": str(health)})
    assert out.returncode == 0 and out.stdout.startswith("last heartbeat ")


def test_broker_check_asks_the_broker_then_trusts_its_answer_for_30_s(broker, tmp_path):
    note = tmp_path / "answered"
    replace = {
        "-p 1883": f"-p {broker.port}",
        "/mosquitto/auth/health.password": str(broker.password_file("health")),
        "/tmp/canbridge-broker-answered": str(note),
    }
    assert run_check("mosquitto", replace=replace).returncode == 0
    assert note.exists()
    broker.stop()
    assert run_check("mosquitto", replace=replace).returncode == 0  # answered < 30 s ago
    _age(note, 31)
    assert run_check("mosquitto", replace=replace).returncode == 1  # asks again: no broker
    _age(note, 25)
    assert run_check("mosquitto", replace=replace).returncode == 0
    broker.start()
    _age(note, 31)
    assert run_check("mosquitto", replace=replace).returncode == 0
    assert time.time() - note.stat().st_mtime < 5  # the new answer is noted


def test_broker_check_fails_on_a_login_the_broker_refuses(broker, tmp_path):
    wrong = tmp_path / "health.password"
    wrong.write_text("not-the-password")
    note = tmp_path / "answered"
    replace = {
        "-p 1883": f"-p {broker.port}",
        "/mosquitto/auth/health.password": str(wrong),
        "/tmp/canbridge-broker-answered": str(note),
    }
    assert run_check("mosquitto", replace=replace).returncode == 1
    assert not note.exists()


class _Livez(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(self.status if self.path == "/livez" else 404)
        self.end_headers()
        self.wfile.write(b'{"status": "pass"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    servers = []

    def start(handler):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_api_check_wants_200_from_livez(http_server):
    port = http_server(_Livez)
    out = run_check("api", replace={"8080": str(port)})
    assert out.returncode == 0, out.stdout + out.stderr

    class Failing(_Livez):
        status = 503

    port = http_server(Failing)
    out = run_check("api", replace={"8080": str(port)})
    assert out.returncode == 1 and out.stdout == "GET /livez: HTTP/1.0 503\n"


def test_api_check_fails_when_nothing_listens():
    port = free_port()
    out = run_check("api", replace={"8080": str(port)})
    assert out.returncode == 1


def test_api_check_fails_when_the_api_does_not_answer():
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        port = silent.getsockname()[1]
        out = run_check("api", replace={"8080": str(port)})
    assert out.returncode == 1 and out.stdout == f"no answer on :{port}\n"


def test_api_check_passes_against_the_real_api(service, probe):
    api = Api(service)
    watcher = probe()
    watcher.subscribe("canbridge/api/heartbeat")
    answering(api, watcher)
    out = run_check("api", replace={"8080": str(api.port)})
    assert out.returncode == 0, out.stdout + out.stderr
