"""Tests with real Home Assistant processes (tests/hass_process.py)."""
