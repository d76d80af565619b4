"""HA's MQTT client logs a warning for every message it cannot decode for a subscription that
has an encoding. Our manifest's discovery topic (`kaiser/+/esp/+/announce`) is such a
subscription (UTF-8): a device sending binary announces would write a line of up to 8 KB per
message. This filter lets one of those lines per minute through (for all our announce topics
together: the integration's limit for a kind of bad message, docs/protocol.md "Errors and bad
input") and drops the rest. Every other record passes untouched.
"""

from __future__ import annotations

import logging

from homeassistant.const import EVENT_HOMEASSISTANT_CLOSE
from homeassistant.core import Event, HomeAssistant, callback

from .protocol.log_limiter import LogLimiter

MQTT_CLIENT_LOGGER = "homeassistant.components.mqtt.client"
# The warning's template in HA's MQTT client (2025.4 to 2026.10).
UNDECODABLE = "Can't decode payload %s on %s with encoding %s (for %s)"


class UndecodableAnnounceFilter(logging.Filter):
    """At most one undecodable-announce warning per minute."""

    def __init__(self) -> None:
        """Nothing logged yet."""
        super().__init__()
        self.limiter = LogLimiter()

    def filter(self, record: logging.LogRecord) -> bool:
        """False for a repeat within the minute."""
        if record.msg != UNDECODABLE or not isinstance(record.args, tuple):
            return True
        topic = record.args[1] if len(record.args) > 1 else None
        if not isinstance(topic, str) or not _announce_topic(topic):
            return True
        return self.limiter.allow(UNDECODABLE)


def _announce_topic(topic: str) -> bool:
    """`kaiser/+/esp/+/announce`, with valid ids or not (HA's subscription matches both)."""
    parts = topic.split("/")
    return len(parts) == 5 and parts[0] == "kaiser" and parts[2] == "esp" and parts[4] == "announce"


@callback
def async_install(hass: HomeAssistant) -> None:
    """Filter HA's MQTT client's log while this HA runs."""
    logger = logging.getLogger(MQTT_CLIENT_LOGGER)
    undecodable = UndecodableAnnounceFilter()
    logger.addFilter(undecodable)

    @callback
    def remove(_: Event) -> None:
        logger.removeFilter(undecodable)

    hass.bus.async_listen_once(EVENT_HOMEASSISTANT_CLOSE, remove)
