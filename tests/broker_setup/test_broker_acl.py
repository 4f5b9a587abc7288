"""The project's broker config: no anonymous access, client ids bound to logins, packet
limits, and least privilege per user exactly as the table in docs/security.md says."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from harness import PROJECT, TIMEOUT, Probe

from services.broker_setup.broker_files import CONF_TEMPLATE, acl_blocks, render_acl
from services.broker_setup.users import USERS
from shared.mqtt_client import MqttClient

NOT_AUTHORIZED = "Not authorized"
SECURITY_DOC = PROJECT / "docs" / "security.md"
BASE = "canbridge"

pytestmark = pytest.mark.integration


# --- the table in docs/security.md -------------------------------------------------------------
def doc_table(path: Path = SECURITY_DOC) -> tuple[list[str], dict[str, dict[str, str]]]:
    """(users, topic -> user -> "r"/"w"/"rw"/"-") from the table whose header starts `| topic |`."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| topic |"))
    header = [cell.strip().strip("`") for cell in lines[start].strip("|").split("|")]
    users = [name for name in header[1:] if name != "what"]
    table: dict[str, dict[str, str]] = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        topic = cells[0].strip("`").replace("<base>", BASE)
        table[topic] = dict(zip(users, cells[1 : 1 + len(users)], strict=True))
    return users, table


def acl_matches(pattern: str, topic: str) -> bool:
    """Mosquitto's rule: `+` and `#` at the start never match a `$SYS`-style topic."""
    if topic.startswith("$") and pattern[:1] in ("+", "#"):
        return False
    return mqtt.topic_matches_sub(pattern, topic)


USERS_IN_DOC, TABLE = doc_table()


def test_doc_table_has_a_column_per_user_and_only_known_cells():
    assert list(USERS) == USERS_IN_DOC
    for topic, cells in TABLE.items():
        assert set(cells.values()) <= {"r", "w", "rw", "-"}, topic


def test_doc_table_has_a_topic_for_every_acl_line():
    """Every `topic` line of the ACL is exercised by at least one row of the table."""
    uncovered = [
        f"{user}: {line}"
        for user, lines in acl_blocks(render_acl(BASE)).items()
        for line in lines
        if not any(acl_matches(line.split(None, 2)[2], topic) for topic in TABLE)
    ]
    assert not uncovered, f"add a representative topic to docs/security.md for {uncovered}"


def test_least_privilege_the_issue_asks_for():
    """Independent of the table's other rows: who may never send which BIC command."""

    def may_write(user: str, topic: str) -> bool:
        return "w" in TABLE[f"{BASE}/{topic}"][user]

    for name in ("current", "charge", "state", "cmd", "provision"):
        assert not may_write("charge-controller", f"bic/0/set/{name}"), name
    assert may_write("charge-controller", "bic/0/set/power")
    for name in ("power", "current", "charge", "state", "cmd", "provision"):
        assert not may_write("api", f"bic/0/set/{name}"), name
        assert not may_write("consumer", f"bic/0/set/{name}"), name
    for name in ("cmd", "provision", "current", "charge"):
        assert not may_write("homeassistant", f"bic/0/set/{name}"), name
    assert [t for t, cells in TABLE.items() if "w" in cells["consumer"]] == ["homeassistant/status"]


# --- every user x every topic against the real broker -------------------------------------------
def exact_probes(broker, probe) -> dict[str, Probe]:
    probes = {user: probe(user=user, exact=True) for user in USERS}
    for user, p in probes.items():
        assert not p.wait_connack().is_failure, user
    return probes


def test_publish_rights_are_exactly_the_doc_table(broker, probe):
    probes = exact_probes(broker, probe)
    results: dict[tuple[str, str], mqtt.ReasonCode] = {}
    lock = threading.Lock()

    def publish_all(user: str, p: Probe) -> None:
        for topic in TABLE:
            rc = p.publish(topic, "acl-test")
            with lock:
                results[(user, topic)] = rc

    threads = [threading.Thread(target=publish_all, args=item) for item in probes.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(2 * TIMEOUT)
    wrong = [
        f"{user} -> {topic}: table says {TABLE[topic][user]!r}, broker said {rc}"
        for (user, topic), rc in sorted(results.items())
        if rc.is_failure == ("w" in TABLE[topic][user])
        or (rc.is_failure and str(rc) != NOT_AUTHORIZED)
    ]
    assert len(results) == len(USERS) * len(TABLE)
    assert not wrong, "\n".join(wrong)


def test_read_rights_are_exactly_the_doc_table(broker, probe):
    admin = probe(user="admin", exact=True)
    for topic in TABLE:
        if not topic.startswith("$"):  # $SYS/... is the broker's own, retained by it
            assert not admin.publish(topic, "acl-test", retain=True).is_failure, topic
    probes = exact_probes(broker, probe)
    for p in probes.values():
        # one SUBSCRIBE with every topic; the broker sends the retained messages the
        # user may read before it answers the next SUBSCRIBE on the same connection
        _rc, _mid = p.client.subscribe([(topic, 0) for topic in TABLE])
        p.subscribe("acl-test/barrier", qos=0)
    wrong = []
    for user, p in probes.items():
        got = {m.topic for m in p.received("#") if m.retain} | {
            m.topic for m in p.received("$SYS/#") if m.retain
        }
        for topic, cells in TABLE.items():
            if (topic in got) != ("r" in cells[user]):
                wrong.append(
                    f"{user} <- {topic}: table says {cells[user]!r}, delivered {topic in got}"
                )
    assert not wrong, "\n".join(wrong)


# --- logins ------------------------------------------------------------------------------------
def test_anonymous_connect_is_refused(probe):
    rc = probe(user=None).wait_connack()
    assert rc.is_failure
    assert str(rc) == NOT_AUTHORIZED


def test_wrong_password_is_refused(probe):
    rc = probe(user="api", password="not-the-password").wait_connack()
    assert rc.is_failure
    assert str(rc) in {"Bad user name or password", NOT_AUTHORIZED}


def test_every_user_connects_with_its_generated_password(broker, probe):
    for user in USERS:
        assert not probe(user=user, exact=True).wait_connack().is_failure, user


def test_health_user_reads_broker_version(probe):
    reader = probe(user="health", exact=True)
    reader.subscribe("$SYS/broker/version")
    assert reader.wait_for("$SYS/broker/version").text.startswith("mosquitto version")


@pytest.mark.parametrize("intruder", ["consumer", "homeassistant", "admin"])
def test_no_login_can_take_over_the_controllers_session(broker, probe, intruder):
    """Item 3 of issue 12: the controller's client id under another login kicked it off."""
    watcher = probe()
    watcher.subscribe(f"{BASE}/charge-controller/#")
    settings = broker.mqtt_settings("charge-controller")
    controller = MqttClient(settings, "charge-controller", BASE)  # id canbridge-charge-controller
    controller.start()
    try:
        assert controller.wait_ready(TIMEOUT)
        watcher.wait_for(f"{BASE}/charge-controller/status", "online")
        other = probe(user=intruder, exact=True, client_id="canbridge-charge-controller")
        assert not other.wait_connack().is_failure
        # after the intruder's CONNACK a takeover would already have fired the will;
        # a message from the controller's own connection proves it is still the same one
        controller.publish(f"{BASE}/charge-controller/alive", "still here", qos=1)
        watcher.wait_for(f"{BASE}/charge-controller/alive", "still here")
        statuses = [m.text for m in watcher.received(f"{BASE}/charge-controller/status")]
        assert statuses == ["online"]
        assert controller.connected.is_set() and controller.connect_count == 1
    finally:
        controller.stop()


def test_a_login_holds_one_connection(broker, probe):
    """The consequence users see: a second program with the same login replaces the first."""
    first = probe(user="consumer", exact=True, client_id="evcc")
    assert not first.wait_connack().is_failure
    dropped = threading.Event()
    first.client.on_disconnect = lambda *args: dropped.set()
    second = probe(user="consumer", exact=True, client_id="dashboard")
    assert not second.wait_connack().is_failure
    assert dropped.wait(TIMEOUT)


# --- limits ------------------------------------------------------------------------------------
def conf_value(key: str) -> int:
    match = re.search(rf"^{key} (\d+)$", CONF_TEMPLATE.read_text(), re.M)
    assert match, key
    return int(match.group(1))


def test_limits_are_configured():
    assert conf_value("max_packet_size") == 128 * 1024
    assert conf_value("max_inflight_messages") > 0
    assert conf_value("max_queued_messages") > 0
    assert conf_value("max_queued_bytes") > 0


def test_largest_legitimate_payloads_fit_the_packet_limit_with_margin():
    import json

    from services.bic_gateway.discovery import unit_device
    from services.bic_gateway.models import MODELS

    largest = max(
        len(json.dumps(unit_device(BASE, 0, model, serial="AB1234"))) for model in MODELS.values()
    )
    assert largest * 8 < conf_value("max_packet_size")


def test_an_oversized_packet_is_refused_and_the_broker_carries_on(broker, probe):
    limit = conf_value("max_packet_size")
    got: list[bytes] = []
    legal_arrived = threading.Event()

    def on_big(msg) -> None:
        got.append(msg.payload)
        legal_arrived.set()

    # a service listening on the topic: never sees it, stays connected
    service = MqttClient(broker.mqtt_settings("api"), "api", BASE)
    # the shared client refuses > 64 KiB by default: this subscription takes up to the limit
    service.subscribe(f"{BASE}/big/#", on_big, max_bytes=limit)
    service.start()
    try:
        assert service.wait_ready(TIMEOUT)
        oversized_is_refused(probe, limit)
        assert legal_arrived.wait(TIMEOUT)
        assert got == [b"y" * (limit - 1024)]
        assert service.connected.is_set() and service.connect_count == 1
    finally:
        service.stop()


def oversized_is_refused(probe, limit: int) -> None:
    sender = probe(user="admin", exact=True)
    sender.wait_connack()
    dropped = threading.Event()
    sender.client.on_disconnect = lambda *args: dropped.set()
    sender.client.reconnect_delay_set(60, 120)  # stay down: the drop is what we look at
    watcher = probe()
    watcher.subscribe(f"{BASE}/big/#")
    sender.client.publish(f"{BASE}/big/one", b"x" * (limit + 1), qos=1)
    assert dropped.wait(TIMEOUT)
    # the broker is fine and a large but legal payload still passes
    other = probe()
    ok = b"y" * (limit - 1024)
    assert not other.publish(f"{BASE}/big/two", ok).is_failure
    assert watcher.wait_for(f"{BASE}/big/two").payload == ok
    assert not watcher.received(f"{BASE}/big/one")
