"""`make demo`: Mosquitto, a real Home Assistant with this integration, simulated ESP32s."""
