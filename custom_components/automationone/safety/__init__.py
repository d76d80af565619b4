"""On-device actuator safety of protocol v1 as a pure state machine (no Home Assistant).

The device simulator runs it as the device's last line of defence; the integration can run
the same rules to refuse a command before sending it. See docs/protocol.md, "Actuator safety
on the device", and tests/vectors/safety/timelines.json.
"""

from .machine import (
    DIGITAL_TYPES,
    FULL_ON,
    RATE_WINDOW_S,
    ActuatorSafety,
    Refused,
)

__all__ = ["DIGITAL_TYPES", "FULL_ON", "RATE_WINDOW_S", "ActuatorSafety", "Refused"]
