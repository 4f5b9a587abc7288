"""A charge controller that floods discharge setpoints until it is killed (flood tests).

Usage: python tests/bic_gateway/flood_controller.py  (broker settings from the environment, user
charge-controller). Like the real one it says `online` on its retained status topic and leaves
`offline` as its last will; 500 setpoints/s, each a discharge of 300..900 W, a new value each time.
"""

from __future__ import annotations

import time

from shared.runtime import build_runtime
from shared.settings import ServiceSettings, load_settings

TOPIC = "{base}/bic/0/set/power"
RATE = 500  # setpoints/s


def main() -> None:
    settings = load_settings(ServiceSettings)
    runtime = build_runtime("charge-controller", settings)
    runtime.start()
    runtime.client.wait_connected()
    topic = TOPIC.format(base=settings.base_topic)
    i = 0
    while True:
        runtime.client.publish(topic, str(-300 - 100 * (i % 7)), qos=1)
        i += 1
        time.sleep(1 / RATE)


if __name__ == "__main__":
    main()
