"""Broker security: per-device logins with Mosquitto's dynamic security, TLS certificates.

No Home Assistant imports (mypy --strict); the HA side is `../login_flow.py` and `../logins.py`.
"""
