"""A virtual AutomationOne ESP32 fleet speaking protocol v1 over a real MQTT broker.

Run `python -m simulator --help` (or the `automationone-sim` script); in process use
`SimulatedDevice` and `Fleet` (see simulator.device).
"""

from __future__ import annotations

import importlib
from pathlib import Path
import sys
import types

_INTEGRATION = "custom_components.automationone"

if _INTEGRATION not in sys.modules:
    # custom_components/automationone/__init__.py is the Home Assistant integration and imports
    # homeassistant; the simulator must run on plain Python (paho-mqtt, orjson, numpy) and start
    # fast. So the package is registered bare, with its real __path__, just long enough to
    # import its pure subpackages (protocol, safety, processors for the ADC model), and then
    # removed again: the submodules stay in sys.modules, and a later
    # `import custom_components.automationone` in the same process (HA tests) still executes
    # the real integration instead of finding a bare shell.
    _bare = types.ModuleType(_INTEGRATION)
    _bare.__path__ = [
        str(Path(__file__).resolve().parent.parent / "custom_components" / "automationone")
    ]
    sys.modules[_INTEGRATION] = _bare
    try:
        importlib.import_module(f"{_INTEGRATION}.protocol")
        importlib.import_module(f"{_INTEGRATION}.safety")
        importlib.import_module(f"{_INTEGRATION}.processors")
    finally:
        del sys.modules[_INTEGRATION]

from .device import DeviceOptions, Fleet, SimulatedDevice  # noqa: E402

__version__ = "0.1.0"
__all__ = ["DeviceOptions", "Fleet", "SimulatedDevice", "__version__"]
