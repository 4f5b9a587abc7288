"""canbridge's shared service library: MQTT client, logging, settings, heartbeat."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("canbridge")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+src"

#: Version of the public topic/payload layout (README "Topic API").
TOPIC_API_VERSION = 2
