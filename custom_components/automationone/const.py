"""Constants of the AutomationOne integration."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "automationone"
MANUFACTURER: Final = "Espressif"

CONF_ESP_ID: Final = "esp_id"
CONF_KAISER_ID: Final = "kaiser_id"
CONF_BOARD: Final = "board"

# Boards we have pin profiles for: board id -> model shown in the device registry.
BOARD_MODELS: Final = {
    "esp32dev": "ESP32-WROOM-32 (esp32dev)",
    "seeed_xiao_esp32c3": "Seeed XIAO ESP32-C3",
}

# How long the manual step waits for the device's retained announce.
ANNOUNCE_WAIT_S: Final = 5.0
