"""The board drawing: each pin's role in the SVG, the authenticated view, the signed link in the
Add sensor / Add actuator dialogs, and the image entity on the device page."""

from __future__ import annotations

from http import HTTPStatus
import re
from xml.etree import ElementTree as ET

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, MqttMockHAClient

from custom_components.automationone.board_image import board_path, entry_svg
from custom_components.automationone.gpio import get_board
from custom_components.automationone.gpio.drawing import PinState, board_svg, pin_roles

from .test_actuators import PUMP, entry_with
from .test_sensors import PH_DATA, setup

SVG = "{http://www.w3.org/2000/svg}"
I2C = {**PH_DATA, "sensor_type": "sht31_temperature", "gpio": 21, "scl": 22, "addr": "0x44"}


def pins(svg: str) -> dict[int, tuple[str, str, str]]:
    """gpio -> (state, pin name, text) as drawn."""
    found = {}
    for group in ET.fromstring(svg).iter(f"{SVG}g"):
        name, text = (t.text or "" for t in group.iter(f"{SVG}text"))
        found[int(group.attrib["data-gpio"])] = (group.attrib["class"].split()[1], name, text)
    return found


async def _entry(hass: HomeAssistant) -> MockConfigEntry:
    return await setup(
        hass,
        entry_with(
            ("sensor", "Tank pH", PH_DATA),
            ("sensor", "Air <T> & more", I2C),
            ("actuator", "Pump", PUMP),
        ),
    )


async def test_svg_shows_each_pins_role(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    """Used pins name their sensor or actuator (both I2C lines), the others say why not."""
    entry = await _entry(hass)
    drawn = pins(entry_svg(hass, entry))
    assert drawn[34] == ("used", "GPIO34", "Tank pH")
    assert drawn[26] == ("used", "GPIO26", "Pump")
    assert drawn[21][2] == drawn[22][2] == "Air <T> & more"  # escaped in the file, intact here
    assert drawn[6] == ("unusable", "GPIO6", "unusable: SPI flash")
    assert drawn[1] == ("unusable", "GPIO1", "unusable: serial console (UART0)")
    assert drawn[36] == ("limited", "GPIO36", "input only")
    assert drawn[4] == ("limited", "GPIO4", "ADC2: no analog with WiFi")
    assert drawn[0][2] == "ADC2: no analog with WiFi; strapping: boot risk"
    assert drawn[32] == ("free", "GPIO32", "free, analog (ADC1)")
    assert drawn[23] == ("free", "GPIO23", "free")
    assert len(drawn) == len(get_board("esp32dev").pins)


def test_xiao_pins_carry_their_labels() -> None:
    """A board that labels its pins shows the label."""
    board = get_board("seeed_xiao_esp32c3")
    roles = {r.gpio: r for r in pin_roles(board, {2: ["Soil"]})}
    assert (roles[2].name, roles[2].state, roles[2].text) == ("D0 (GPIO2)", PinState.USED, "Soil")
    assert roles[18].text == "unusable: USB"
    assert (roles[5].name, roles[5].text) == ("D3 (GPIO5)", "ADC2: no analog with WiFi")
    assert (roles[8].state, roles[8].text) == (PinState.LIMITED, "strapping: boot risk")
    drawn = pins(board_svg(board, list(roles.values())))
    assert drawn[2] == ("used", "D0 (GPIO2)", "Soil")


def test_long_names_are_cut() -> None:
    """A sensor name longer than the space beside the pin ends in an ellipsis."""
    board = get_board("esp32dev")
    drawn = pins(board_svg(board, pin_roles(board, {4: ["x" * 80]})))
    assert drawn[4][2] == "x" * 47 + "…"


async def test_view_needs_a_login(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Without a login: 401; logged in: the SVG; not one of our entries: 404."""
    entry = await _entry(hass)
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(board_path(entry.entry_id))).status == HTTPStatus.UNAUTHORIZED
    client = await hass_client()
    response = await client.get(board_path(entry.entry_id))
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert "Tank pH" in await response.text()
    assert (await client.get(board_path("nonexistent"))).status == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("kind", ["sensor", "actuator"])
async def test_add_dialog_shows_the_board(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_client_no_auth: ClientSessionGenerator,
    kind: str,
) -> None:
    """The settings step's description carries a signed link the browser can load as an
    image without the login header."""
    entry = await _entry(hass)
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": "user"}
    )
    choice = {"sensor_type": "ph"} if kind == "sensor" else {"actuator_type": "relay"}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], choice)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "settings"
    markdown = result["description_placeholders"]["board"]
    found = re.fullmatch(
        r"!\[Greenhouse 1\]\((/api/automationone/board/(\w+)\.svg\?authSig=.+)\)", markdown
    )
    assert found is not None
    assert found[2] == entry.entry_id
    response = await (await hass_client_no_auth()).get(found[1])
    assert response.status == HTTPStatus.OK
    assert "Pump" in await response.text()


async def test_device_page_image(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, hass_client: ClientSessionGenerator
) -> None:
    """An image entity per device serves the same drawing."""
    entry = await _entry(hass)
    state = hass.states.get("image.greenhouse_1_board_pins")
    assert state is not None
    assert state.state != "unavailable"
    client = await hass_client()
    response = await client.get(state.attributes["entity_picture"])
    assert response.status == HTTPStatus.OK
    assert response.headers["Content-Type"].startswith("image/svg+xml")
    assert await response.text() == entry_svg(hass, entry)
