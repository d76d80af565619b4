"""The dynamic-security commands HA sends, and reading the broker's answers (no broker)."""

from __future__ import annotations

import json

import pytest

from custom_components.automationone.broker_security import dynsec
from custom_components.automationone.protocol import ProtocolError


def test_device_role_is_the_topic_table_of_the_protocol() -> None:
    """docs/protocol.md: device -> HA topics to publish, HA -> device topics to subscribe."""
    acls = dynsec.device_acls("god", "esp-a1b2c3")
    root = "kaiser/god/esp/esp-a1b2c3/"
    publish = {a.topic for a in acls if a.acltype == "publishClientSend"}
    subscribe = {a.topic for a in acls if a.acltype == "subscribeLiteral"}
    assert publish == {
        root + t
        for t in ("announce", "status", "heartbeat", "config/ack", "sensor/+/data",
                  "sensor/batch", "actuator/+/status", "ota/status")
    }  # fmt: skip
    assert subscribe == {
        *(root + t for t in ("config", "actuator/+/command", "sensor/+/processed",
                             "system/command", "emergency")),
        "kaiser/god/broadcast/emergency",
    }  # fmt: skip
    assert all(a.allow for a in acls)
    assert {a.acltype for a in acls} == {"publishClientSend", "subscribeLiteral"}


@pytest.mark.parametrize("esp_id", ["+", "#", "a/b", "", "x" * 33, "é"])
def test_ids_with_wildcards_never_make_an_acl(esp_id: str) -> None:
    with pytest.raises(ProtocolError):
        dynsec.device_acls("god", esp_id)
    with pytest.raises(ProtocolError):
        dynsec.revoked_acls("god", esp_id)


def test_revocation_denies_send_receive_and_subscribe_first() -> None:
    acls = dynsec.revoked_acls("k1", "esp-1")
    assert {(a.acltype, a.topic, a.allow) for a in acls} == {
        ("publishClientSend", "kaiser/k1/esp/esp-1/#", False),
        ("publishClientReceive", "kaiser/k1/esp/esp-1/#", False),
        ("subscribePattern", "kaiser/k1/esp/esp-1/#", False),
    }
    assert all(a.priority > 0 for a in acls)


def test_client_is_bound_to_its_client_id_and_checked() -> None:
    cmd = dynsec.create_client("a1-esp-1-1", "p" * 32, clientid="esp-1", roles=[("r", 0)])
    assert cmd == {
        "command": "createClient", "username": "a1-esp-1-1", "password": "p" * 32,
        "roles": [{"rolename": "r", "priority": 0}], "clientid": "esp-1",
    }  # fmt: skip
    with pytest.raises(ValueError, match="password"):
        dynsec.create_client("a1-esp-1-1", "short")
    with pytest.raises(ValueError, match="username"):
        dynsec.create_client("a b", "p" * 32)
    password = dynsec.new_password()
    assert dynsec.PASSWORD_PATTERN.fullmatch(password)
    assert password != dynsec.new_password()


def test_commands_carry_their_correlation_and_answers_are_read() -> None:
    payload = json.loads(
        dynsec.encode_commands([dynsec.list_clients(), dynsec.delete_client("x")], "abc")
    )
    assert [c["correlationData"] for c in payload["commands"]] == ["abc-0", "abc-1"]
    answers = dynsec.parse_responses(
        b'{"responses":[{"command":"listClients","data":{"clients":["a"]},'
        b'"correlationData":"abc-0"},{"command":"deleteClient","error":"Client not found",'
        b'"correlationData":"abc-1"}]}'
    )
    assert answers[0].ok
    assert answers[0].data == {"clients": ["a"]}
    assert not answers[1].ok
    assert dynsec.is_error(answers[1], dynsec.NOT_FOUND)


@pytest.mark.parametrize(
    "payload", [b"not json", b"[]", b'{"responses": 1}', b'{"responses": [{"error": "x"}]}']
)
def test_unreadable_answers_are_errors(payload: bytes) -> None:
    with pytest.raises(dynsec.DynsecError):
        dynsec.parse_responses(payload)
