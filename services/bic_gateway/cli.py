"""`python -m services.bic_gateway.cli [--unit N] [--can] <command> [value]`.

By default the command goes to the running gateway over MQTT (request on
``<base>/bic/<unit>/set/cmd``, answer on ``<base>/bic/<unit>/reply``), using the same settings as
the gateway (``CANBRIDGE_CONFIG``, ``CANBRIDGE_MQTT__*``) but its own MQTT login ``bic-cli``
(password file ``bic-cli`` next to the gateway's) unless another one is configured.
``--can`` talks to the bus directly (stop the gateway first: one process per bus). Values are in
volts and amps. Both paths validate and count writes the same way as the gateway's setpoints
(``commands``); ``init_mode`` needs ``--confirm``. Exit status: 0 done (or held by the wear
governor, applied when its interval ends), 1 refused or failed, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import uuid
from typing import Any

from shared.contract.topics import SET_CMD, UnitTopics
from shared.logging_setup import configure_logging
from shared.mqtt_client import MqttClient
from shared.settings import load_settings

from .can_bus import open_bus
from .can_link import manage_link
from .commands import COMMANDS, LOCAL_ONLY, CommandFailed, run_command
from .families import RESPONSE_BASES
from .ledger_store import StateStore
from .limits import RangePolicy
from .pacing import Pacer
from .provisioning import provision
from .setpoint import BatteryWindow, CurrentLimits
from .settings import BicGatewaySettings
from .transport import CanTransport, NoResponse
from .unit import UnitDriver
from .wear import WearPolicy


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    width = max(len(n) for n in COMMANDS)
    listing = "\n".join(f"  {c.name:<{width}}  {c.help}" for c in COMMANDS.values())
    parser = argparse.ArgumentParser(
        prog="python -m services.bic_gateway.cli",
        description="BIC-2200 and NPB commands (values in V and A).",
        epilog=f"commands:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=list(COMMANDS), metavar="command")
    parser.add_argument("value", nargs="?", type=float, help="V or A for the *set commands")
    parser.add_argument("--unit", type=int, default=None, help="CAN address (default: first)")
    parser.add_argument("--can", action="store_true", help="talk to the bus, not the gateway")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait (MQTT)")
    parser.add_argument("--json", action="store_true", help="print the raw JSON result")
    parser.add_argument(
        "--confirm", action="store_true", help="confirm init_mode (rewrites the unit's config)"
    )
    return parser.parse_args(argv)


def over_mqtt(
    settings: BicGatewaySettings,
    unit: int,
    name: str,
    value: float | None,
    timeout: float,
    confirm: bool = False,
) -> dict[str, Any]:
    topics = UnitTopics(settings.base_topic, unit)
    request_id = uuid.uuid4().hex[:12]
    done = threading.Event()
    reply: dict[str, Any] = {}
    # its own login: the gateway's would drop the running gateway (one connection per login)
    mqtt_settings = settings.mqtt.tool_login("bic-gateway", "bic-cli")
    client = MqttClient(
        mqtt_settings,
        "bic-cli",
        settings.base_topic,
        client_id=f"bic-cli-{request_id}",
        availability=False,
    )

    def on_reply(_topic: str, data: Any, _msg) -> None:
        if isinstance(data, dict) and data.get("id") == request_id:
            reply.update(data)
            done.set()

    client.subscribe_json(topics.reply, on_reply)
    client.start()
    try:
        if not client.wait_connected(timeout):
            raise CommandFailed(
                f"no connection to the broker at {mqtt_settings.host}:{mqtt_settings.port}"
            )
        # on_connect sends SUBSCRIBE before `connected` is set, so the broker handles it
        # before this request (same connection, in order)
        request = {"id": request_id, "cmd": name, "value": value, "confirm": confirm}
        client.publish_json(topics.set(SET_CMD), request, qos=1, expiry_s=max(1, int(timeout)))
        if not done.wait(timeout):
            raise CommandFailed(
                f"no answer from the gateway within {timeout:g} s "
                f"(is bic-gateway running and unit {unit} configured?)"
            )
    finally:
        client.stop()
    if not reply.get("ok"):
        raise CommandFailed(reply.get("error", "failed"))
    return reply["result"]


def over_can(
    settings: BicGatewaySettings, unit: int, name: str, value: float | None, confirm: bool = False
) -> dict[str, Any]:
    timing = settings.timing
    bus = open_bus(settings.can, accept_base=RESPONSE_BASES)
    transport = CanTransport(
        bus,
        Pacer(timing.request_period_s, timing.response_margin_s),
        timeout_s=timing.response_timeout_s,
        retries=timing.retries,
    )
    store = StateStore(settings.state_file).load()
    battery = settings.battery
    driver = UnitDriver(
        transport,
        unit,
        store.unit(unit),
        store,
        WearPolicy(settings.wear.min_interval_s, settings.wear.budget),
        RangePolicy(settings.range_policy),
        window=BatteryWindow(battery.min_v, battery.max_v),
        currents=CurrentLimits(
            battery.max_charge_a, battery.max_discharge_a, battery.min_current_a
        ),
        family_setting=settings.family,
    )

    def do_provision(d: UnitDriver) -> dict[str, Any]:
        return provision(
            d, eep_off=settings.provision.eep_off, operation_init=settings.provision.operation_init
        )

    try:
        try:
            driver.identify()
        except NoResponse as exc:
            raise CommandFailed(f"unit {unit} does not answer: {exc}") from None
        result = run_command(driver, name, value, provision=do_provision, confirm=confirm)
        if result.get("action") == "defer":  # nobody stays to apply it when the interval ends
            raise CommandFailed(
                f"not written: {result['reason']}; the CLI with --can cannot wait for it, "
                "run it again then"
            )
        return result
    finally:
        if store.dirty:
            store.save()  # counts of EEP_OFF writes (EEPROM writes are saved at once)
        transport.close()


def summary(name: str, result: dict[str, Any]) -> str | None:
    if "register" in result and "action" in result:
        shown = result.get("read_back", result.get("value"))
        line = f"{result['register']}: {result['action']} -> {shown} {result.get('unit', '')}"
        if result["action"] == "defer":
            line += f"\nheld by the wear governor: {result.get('reason')}"
        return line
    if "register" in result:
        return f"{result['register']} = {result['value']} {result.get('unit', '')}".rstrip()
    if name == "init_mode":
        return f"{result.get('eeprom')}\nNEXT: {result.get('next')}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings(BicGatewaySettings)
    # results go to stdout; log lines (warnings only) to stderr
    configure_logging("bic-cli", "warning", "console", stream=sys.stderr)
    unit = settings.units[0] if args.unit is None else args.unit
    if args.command in LOCAL_ONLY:
        code, message = manage_link(
            settings.can.interface, settings.can.resolved_channel(), args.command == "can_up"
        )
        print(message, file=sys.stdout if code == 0 else sys.stderr)
        return code
    if COMMANDS[args.command].takes_value and args.value is None:
        print(f"{args.command} needs a value ({COMMANDS[args.command].unit})", file=sys.stderr)
        return 2
    try:
        if args.can:
            result = over_can(settings, unit, args.command, args.value, args.confirm)
        else:
            result = over_mqtt(settings, unit, args.command, args.value, args.timeout, args.confirm)
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    line = None if args.json else summary(args.command, result)
    print(line if line else json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
