"""The files shared by every entry (entry_records.py): the version of each device's pushed
config (on disk before the push, kept across restarts) and the recommendations' state; both
moved from the per-entry files of earlier releases (1.3) by the 1.4 migration."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.automationone.const import DOMAIN

from .common import BASE, ESP_ID, mock_entry, setup_entry

FILE = f"{DOMAIN}.config_versions"


def pushed_versions(mqtt_mock: MqttMockHAClient, base: str = BASE) -> list[int]:
    """Versions of the configs HA published to the device at `base`, oldest first."""
    return [
        json.loads(c.args[1])["version"]
        for c in mqtt_mock.async_publish.call_args_list
        if c.args[0] == f"{base}/config" and c.args[1]
    ]


def device_entry(n: int) -> MockConfigEntry:
    """Another device's entry, with its own id and MAC."""
    mac = f"24:0a:c4:00:00:{n:02x}"
    data = {**mock_entry().data, "esp_id": other_id(n), "mac": mac}
    return MockConfigEntry(domain=DOMAIN, title=f"Device {n}", unique_id=mac, data=data)


def other_id(n: int) -> str:
    return f"esp-0000{n:02x}"


async def test_a_restart_keeps_the_version_of_unchanged_content(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """The version is in the shared file when the config goes out; after a reload the same
    content goes out under the same version (the device ignores a version it has)."""
    entry = await setup_entry(hass)
    (first,) = pushed_versions(mqtt_mock)
    assert hass_storage[FILE]["data"][entry.entry_id]["version"] == first
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert pushed_versions(mqtt_mock) == [first, first]


async def test_the_old_per_entry_file_moves_into_the_shared_one(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """An entry of an earlier release (before 1.4) counts on from its own file, which its
    migration moves into the shared one."""
    entry = mock_entry()
    assert entry.minor_version < 4
    entry.add_to_hass(hass)
    legacy = f"{DOMAIN}.config_version.{entry.entry_id}"
    hass_storage[legacy] = {
        "version": 1,
        "minor_version": 1,
        "key": legacy,
        "data": {"version": 7, "digest": "content of an earlier config"},
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.minor_version == 4
    assert pushed_versions(mqtt_mock) == [8]
    assert legacy not in hass_storage
    assert hass_storage[FILE]["data"][entry.entry_id]["version"] == 8


async def test_entries_set_up_together_share_one_write(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """Ten devices set up at once (a restart) write the shared file once, not ten times, and
    each one's version is in it before its config goes out."""
    assert await async_setup_component(hass, DOMAIN, {})  # or the first setup sets up all
    entries = [device_entry(n) for n in range(10)]
    for entry in entries:
        entry.add_to_hass(hass)
    saves: list[str] = []
    original = Store.async_save

    async def counted(store: Store[Any], data: Any) -> None:
        saves.append(store.key)
        await original(store, data)

    with patch.object(Store, "async_save", counted):
        results = await asyncio.gather(
            *(hass.config_entries.async_setup(entry.entry_id) for entry in entries)
        )
        await hass.async_block_till_done()
    assert all(results)
    assert saves.count(FILE) == 1
    stored = hass_storage[FILE]["data"]
    for n, entry in enumerate(entries):
        (version,) = pushed_versions(mqtt_mock, BASE.replace(ESP_ID, other_id(n)))
        assert stored[entry.entry_id]["version"] == version


async def test_removing_a_device_forgets_its_version(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """A removed device's record leaves the shared file; the others stay."""
    entry = await setup_entry(hass)
    other = device_entry(1)
    other.add_to_hass(hass)
    assert await hass.config_entries.async_setup(other.entry_id)
    await hass.async_block_till_done()
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert set(hass_storage[FILE]["data"]) == {other.entry_id}


async def test_a_failed_read_of_the_file_is_tried_again(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """A read that failed (a disk error) fails that entry's setup; the next setup reads again
    instead of failing on the first one's error."""
    original = Store.async_load
    failures = [OSError("disk error")]

    async def flaky(store: Store[Any]) -> Any:
        if store.key == FILE and failures:
            raise failures.pop()
        return await original(store)

    first, second = device_entry(1), device_entry(2)
    with patch.object(Store, "async_load", flaky):
        for entry in (first, second):
            entry.add_to_hass(hass)
            await hass.config_entries.async_setup(entry.entry_id)
            await hass.async_block_till_done()
    assert first.state is ConfigEntryState.SETUP_ERROR
    assert second.state is ConfigEntryState.LOADED


RECOMMENDATIONS = f"{DOMAIN}.recommendations"


async def test_recommendations_move_into_the_shared_file_and_are_written_there(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_storage: dict[str, Any]
) -> None:
    """An entry's own recommendations file (webhook id, auto switches) moves into the shared
    one; changes are written there (at the latest as HA stops), the record made once per
    write."""
    entry = mock_entry()
    entry.add_to_hass(hass)
    legacy = f"{DOMAIN}.recommendations.{entry.entry_id}"
    hass_storage[legacy] = {
        "version": 1,
        "key": legacy,
        "data": {"webhook_id": "a" * 64, "auto": {"lower_value": True}},
    }
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    manager = entry.runtime_data.recommendations
    assert manager is not None
    assert (manager.webhook_id, manager.auto["lower_value"]) == ("a" * 64, True)
    assert legacy not in hass_storage
    made = 0
    data = manager._data

    def counted() -> dict[str, Any]:
        nonlocal made
        made += 1
        return data()

    with patch.object(manager, "_data", counted):
        for auto in (True, False, True, False):  # a burst of changes
            manager.set_auto("lower_value", auto)
        # HA moves the save's timer on with each change; at the latest it writes as it stops.
        hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
        await hass.async_block_till_done()
    assert made == 1  # the record is made once, when the file is written
    stored = hass_storage[RECOMMENDATIONS]["data"][entry.entry_id]
    assert (stored["webhook_id"], stored["auto"]["lower_value"]) == ("a" * 64, False)
