"""The Kaiser relay program: runs on the relay next to its Mosquitto (docs/kaiser.md).

`python -m kaiser run --kaiser-id gh1` announces the relay, reports its health and runs its
edge rules while Home Assistant is unreachable; `python -m kaiser bridge-config` prints the
Mosquitto configuration the relay needs. Built on the integration's pure packages.
"""

from pathlib import Path
import sys
import types

# The relay needs only the integration's pure packages (protocol, rules, processors), not
# Home Assistant, which a relay does not have: make `custom_components.automationone` a bare
# namespace so that importing them does not run the integration's `__init__`. (So do not
# import `kaiser` into a Home Assistant process before the integration: tests run it as a
# process of its own.)
_INTEGRATION = "custom_components.automationone"
if _INTEGRATION not in sys.modules:
    _root = Path(__file__).resolve().parents[1] / "custom_components"
    _parent = sys.modules.get("custom_components")
    if _parent is None:
        _parent = sys.modules["custom_components"] = types.ModuleType("custom_components")
        _parent.__path__ = [str(_root)]
    _package = sys.modules[_INTEGRATION] = types.ModuleType(_INTEGRATION)
    _package.__path__ = [str(_root / "automationone")]
