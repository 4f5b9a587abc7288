"""The project's broker config: no anonymous access, least privilege per user."""

from __future__ import annotations

import pytest

NOT_AUTHORIZED = "Not authorized"


def test_anonymous_connect_is_refused(probe):
    rc = probe(user=None).wait_connack()
    assert rc.is_failure
    assert str(rc) == NOT_AUTHORIZED


def test_wrong_password_is_refused(probe):
    rc = probe(user="api", password="not-the-password").wait_connack()
    assert rc.is_failure
    assert str(rc) in {"Bad user name or password", NOT_AUTHORIZED}


def test_every_user_connects_with_its_generated_password(broker, probe):
    for user in broker.passwords:
        assert not probe(user=user).wait_connack().is_failure, user


# (user, topic, may publish)
PUBLISH_RULES = [
    ("api", "canbridge/api/status", True),
    ("api", "canbridge/charge-controller/set/mode", True),
    ("api", "wican/84f703406f75/can/tx", False),
    ("wican-status", "wican/84f703406f75/can/tx", True),
    ("wican-status", "wican/84f703406f75/can/rx", False),
    ("wican-status", "canbridge/wican-status/heartbeat", True),
    ("wican-soc", "wican/84f703406f75/can/tx", True),
    ("wican-soc", "canbridge/vehicle/leaf/soc", True),
    ("wican-soc", "car/soc", True),
    ("wican-soc", "homeassistant/device/canbridge_leaf/config", True),
    ("wican-soc", "canbridge/bic/0/set/power", False),
    ("bic-gateway", "canbridge/bic/0/state", True),
    ("bic-gateway", "canbridge/bic-gateway/status", True),
    ("bic-gateway", "canbridge/vehicle/leaf/soc", False),
    ("charge-controller", "canbridge/bic/0/set/power", True),
    # no all-units command topic exists: refused, not silently dropped by the gateway
    ("charge-controller", "canbridge/bic/set/power", False),
    ("charge-controller", "canbridge/charge-controller/status", True),
    ("charge-controller", "wican/84f703406f75/can/tx", False),
    ("charge-controller", "canbridge/vehicle/leaf/soc", False),
    ("consumer", "homeassistant/status", True),
    ("consumer", "canbridge/charge-controller/set/enable", False),
    ("consumer", "canbridge/bic/0/set/power", False),
    ("consumer", "canbridge/vehicle/leaf/soc", False),
    ("consumer", "wican/84f703406f75/can/tx", False),
    ("homeassistant", "homeassistant/status", True),
    ("homeassistant", "canbridge/bic/0/set/state", True),
    ("homeassistant", "canbridge/bic/0/set/power", True),
    ("homeassistant", "canbridge/charge-controller/set/mode", True),
    ("homeassistant", "canbridge/bic/0/set/cmd", False),
    ("homeassistant", "canbridge/bic/0/set/provision", False),
    ("homeassistant", "wican/84f703406f75/can/tx", False),
    ("homeassistant", "canbridge/vehicle/leaf/soc", False),
    ("homeassistant", "homeassistant/device/x/config", False),
    ("wican", "wican/84f703406f75/status", True),
    ("wican", "wican/84f703406f75/can/rx", True),
    ("wican", "wican/84f703406f75/can/tx", False),
    ("wican", "canbridge/vehicle/leaf/soc", False),
    ("wican", "car/soc", False),
    ("wican", "homeassistant/status", False),
    ("health", "canbridge/api/status", False),
    ("sim", "sim/meter/power", True),
    ("sim", "canbridge/bic/0/set/power", False),
    ("admin", "anything/at/all", True),
]


@pytest.mark.parametrize(
    ("user", "topic", "allowed"), PUBLISH_RULES, ids=[f"{u}->{t}" for u, t, _ in PUBLISH_RULES]
)
def test_publish_acl(probe, user, topic, allowed):
    rc = probe(user=user).publish(topic, "1")
    if allowed:
        assert not rc.is_failure, f"{user} should be allowed to publish {topic}: {rc}"
    else:
        assert str(rc) == NOT_AUTHORIZED, f"{user} must not publish {topic}: {rc}"


# (user, topic, may read)
READ_RULES = [
    ("consumer", "canbridge/vehicle/leaf/soc", True),
    ("consumer", "car/soc", True),
    ("consumer", "canbridge/bic/0/state", True),
    ("homeassistant", "canbridge/vehicle/leaf/soc", True),
    ("homeassistant", "homeassistant/device/canbridge_leaf/config", True),
    ("wican", "wican/84f703406f75/can/tx", True),
    ("wican", "wican/aaaaaaaaaaaa/can/rx", False),
    ("wican", "canbridge/vehicle/leaf/soc", False),
    ("wican-soc", "wican/84f703406f75/can/rx", True),
    ("wican-soc", "canbridge/bic/0/state", False),
    ("bic-gateway", "canbridge/bic/0/set/power", True),
    ("bic-gateway", "canbridge/vehicle/leaf/soc", False),
    ("charge-controller", "tele/meter/SENSOR", True),
    ("api", "canbridge/bic/0/state", True),
    ("api", "wican/84f703406f75/can/rx", False),
]


@pytest.mark.parametrize(
    ("user", "topic", "allowed"), READ_RULES, ids=[f"{u}<-{t}" for u, t, _ in READ_RULES]
)
def test_read_acl(probe, user, topic, allowed):
    """A denied message is never delivered: a later allowed marker arrives first."""
    reader = probe(user=user)
    reader.subscribe("#")
    marker_topic = "wican/84f703406f75/can/tx" if user == "wican" else f"canbridge/{user}/marker"
    admin = probe(user="admin")
    admin.publish(topic, "payload-under-test")
    admin.publish(marker_topic, "marker")  # same publisher: delivered after the first
    reader.wait_for(marker_topic)
    got = [m for m in reader.received(topic) if m.text == "payload-under-test"]
    assert bool(got) is allowed


def test_health_user_reads_broker_version(probe):
    reader = probe(user="health")
    reader.subscribe("$SYS/broker/version")
    assert reader.wait_for("$SYS/broker/version").text.startswith("mosquitto version")
