"""The contract between canbridge's services: its public MQTT topics and their payloads.

Topic names and payloads are a public API (README.md, "Topics"); every service, the api, the
Home Assistant discovery and the topic tables of the README and the service docs take them
from here:

* ``topics``: the topic builders, filters and parsers (services, BIC units, vehicles, WiCAN);
* ``payloads``: pydantic models of every JSON payload as it is published;
* ``status``: reading ``online``/``offline`` and on/off words, one way for every service;
* ``efficiency``: the BIC's DC <-> AC power conversion, both directions;
* ``retained``: what a service does with a retained command (ignores it, says so);
* ``table``: the topic tables of the README and the service docs, rendered from ``catalog``.
"""
