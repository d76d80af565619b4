"""The device-automation vocabulary: what our device triggers, conditions and actions are
called in an automation. The HA side (device_trigger.py, device_condition.py,
device_action.py) offers them; the rules compiler writes and reads them back. One definition
for both sides (this package imports nothing from Home Assistant)."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "automationone"

# Triggers. Sensor triggers are `sensor_<Direction>` (above, below, crossed).
SENSOR_TRIGGER_PREFIX: Final = "sensor_"
SENSOR_ABOVE: Final = "sensor_above"
SENSOR_BELOW: Final = "sensor_below"
SENSOR_CROSSED: Final = "sensor_crossed"
DEVICE_OFFLINE: Final = "device_offline"
QUALITY_BAD: Final = "quality_bad"
ACTUATOR_STOPPED: Final = "actuator_stopped"

# Conditions.
SENSOR_IN_RANGE: Final = "sensor_in_range"
ACTUATOR_IS_ON: Final = "actuator_is_on"
ACTUATOR_IS_OFF: Final = "actuator_is_off"
DEVICE_ONLINE: Final = "device_online"
CONDITION_TYPES: Final = (SENSOR_IN_RANGE, ACTUATOR_IS_ON, ACTUATOR_IS_OFF, DEVICE_ONLINE)

# Actions (turn_on and turn_off are also HA's own switch/light device actions).
TURN_ON: Final = "turn_on"
TURN_OFF: Final = "turn_off"
TURN_ON_FOR: Final = "turn_on_for"
PULSE: Final = "pulse"
SET_VALUE: Final = "set_value"
ACTION_TYPES: Final = (TURN_ON, TURN_OFF, TURN_ON_FOR, PULSE, SET_VALUE)
