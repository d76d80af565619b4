"""Moving an ESP behind a relay or back to the main broker (docs/protocol.md "Moving to another
broker").

HA sends the device a `system/command` `move` on its current root and waits for its answer: an
announce below the new root (moved; the entry follows it by itself, see `on_announce` in
`__init__`) or one with `move_error` (the device went back and says why).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import secrets

from homeassistant.core import HomeAssistant, callback

from .const import CONF_KAISER_ID, CONF_KIND, DOMAIN, KIND_RELAY
from .data import AutomationOneConfigEntry
from .protocol import DEFAULT_KAISER_ID, Announce, SystemCommand

# The device gives up on a new broker after 30 s and announces again on its old one; a little
# more for the way back.
MOVE_ANSWER_TIMEOUT_S = 40.0


@dataclass(frozen=True, slots=True)
class MoveTarget:
    """Where a device can move: the main broker or a relay HA knows."""

    kaiser_id: str
    title: str
    host: str | None  # where devices reach its broker (None: the device's set-up broker)
    port: int | None


@callback
def move_targets(hass: HomeAssistant) -> dict[str, MoveTarget]:
    """The main broker and every relay with an entry, by kaiser id."""
    targets = {DEFAULT_KAISER_ID: MoveTarget(DEFAULT_KAISER_ID, "", None, None)}
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_KIND) != KIND_RELAY:
            continue
        data = getattr(entry, "runtime_data", None)
        announce = None if data is None else data.announce
        kaiser_id = entry.data[CONF_KAISER_ID]
        targets[kaiser_id] = MoveTarget(
            kaiser_id,
            entry.title,
            None if announce is None else announce.host,
            None if announce is None else announce.port,
        )
    return targets


def can_move(entry: AutomationOneConfigEntry) -> bool:
    """The device's firmware takes a `move` (older firmware would reject it)."""
    announce = entry.runtime_data.device.announce
    return announce is not None and announce.caps is not None and announce.caps.move is True


async def async_move_device(
    entry: AutomationOneConfigEntry,
    kaiser_id: str,
    host: str | None,
    port: int | None,
) -> str | None:
    """Send the move and wait for the device's answer: None when it announced below the new
    root, else why not (its `move_error`, or `no_answer`)."""
    device = entry.runtime_data.device
    answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    @callback
    def on_announce(announce: Announce) -> None:
        if answer.done():
            return
        # `storage`: moved, but not stored (a restart would take it back).
        if device.kaiser_id == kaiser_id and announce.move_error in (None, "storage"):
            answer.set_result(None)
        elif announce.move_error is not None:
            answer.set_result(announce.move_error)

    unsubscribe = device.add_announce_listener(on_announce)
    try:
        await device.send_system_command(
            SystemCommand(
                cmd="move",
                kaiser_id=kaiser_id,
                host=host,
                port=port,
                cmd_id=f"move-{secrets.token_hex(4)}",
            )
        )
        async with asyncio.timeout(MOVE_ANSWER_TIMEOUT_S):
            return await answer
    except TimeoutError:
        return "no_answer"
    finally:
        unsubscribe()
