"""A charge controller that floods discharge setpoints until it is killed (flood tests).

Usage: python tests/bic/flood_controller.py  (broker settings from the environment, user
charge-controller). Like the real one it says `online` on its retained status topic and leaves
`offline` as its last will; every setpoint is a discharge of 300..900 W, a new value each time.
"""

from __future__ import annotations

from shared.runtime import build_runtime
from shared.settings import ServiceSettings, load_settings

TOPIC = "{base}/bic/0/set/power"


def main() -> None:
    settings = load_settings(ServiceSettings)
    runtime = build_runtime("charge-controller", settings)
    runtime.start()
    runtime.client.wait_connected()
    topic = TOPIC.format(base=settings.base_topic)
    i = 0
    while True:
        info = runtime.client.publish(topic, str(-300 - 100 * (i % 7)), qos=1)
        i += 1
        if i % 20 == 0:
            info.wait_for_publish(5)  # as fast as the broker takes them, not faster


if __name__ == "__main__":
    main()
