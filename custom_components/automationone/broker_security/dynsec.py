"""Mosquitto dynamic-security commands for AutomationOne devices (no HA imports).

Builds the JSON of `$CONTROL/dynamic-security/v1` commands and reads the answers on
`$CONTROL/dynamic-security/v1/response` (https://mosquitto.org/documentation/dynamic-security/).
What a device's role may do is docs/security.md's list, derived from docs/protocol.md's topic
table: publish only its own device → HA topics, subscribe only to its own HA → device topics
and its kaiser's emergency broadcast. A Kaiser relay's bridge may carry its kaiser's tree both
ways, read HA's status and publish its own bridge state (docs/kaiser.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import json
import re
import secrets
from typing import Any, Final

from ..protocol.relay import HA_STATUS_TOPIC, bridge_name, bridge_state_topic
from ..protocol.topics import validate_id

CONTROL_TOPIC: Final = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC: Final = "$CONTROL/dynamic-security/v1/response"

# Names HA gives the broker objects of a device.
ROLE_PREFIX: Final = "a1-dev"
RELAY_ROLE_PREFIX: Final = "a1-relay"
CLIENT_PREFIX: Final = "a1"
REVOKED_ROLE: Final = "a1-revoked"
# Checked before any other role of the shared login (dynsec: higher priority first).
REVOKED_ROLE_PRIORITY: Final = 1000
REVOKED_ACL_PRIORITY: Final = 100

USERNAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
PASSWORD_PATTERN: Final = re.compile(r"[!-~]{16,128}")

# Device -> HA topics below `kaiser/{k}/esp/{e}/` (docs/protocol.md, Topics).
DEVICE_PUBLISHES: Final = (
    "announce",
    "status",
    "heartbeat",
    "config/ack",
    "sensor/+/data",
    "sensor/batch",
    "actuator/+/status",
    "ota/status",
)
# HA -> device topics the device subscribes to, exactly as the implementations subscribe.
DEVICE_SUBSCRIBES: Final = (
    "config",
    "actuator/+/command",
    "sensor/+/processed",
    "system/command",
    "emergency",
)


class DynsecError(Exception):
    """The broker refused a command, or gave an answer we cannot read."""

    def __init__(self, command: str, error: str) -> None:
        """`command` that failed and the broker's `error` text."""
        super().__init__(f"{command}: {error}")
        self.command = command
        self.error = error


@dataclass(frozen=True, slots=True)
class Acl:
    """One ACL entry of a role."""

    acltype: str
    topic: str
    allow: bool = True
    priority: int = 0

    def as_json(self) -> dict[str, Any]:
        """The entry as dynsec takes it in `createRole` and `addRoleACL`."""
        return {
            "acltype": self.acltype,
            "topic": self.topic,
            "allow": self.allow,
            "priority": self.priority,
        }


def device_root(kaiser_id: str, esp_id: str) -> str:
    """`kaiser/{kaiser_id}/esp/{esp_id}/`, with both ids checked (no wildcards can slip in)."""
    return f"kaiser/{validate_id(kaiser_id, 'kaiser_id')}/esp/{validate_id(esp_id, 'esp_id')}/"


def role_name(kaiser_id: str, esp_id: str) -> str:
    """The role of one device."""
    return f"{ROLE_PREFIX}-{validate_id(kaiser_id, 'kaiser_id')}-{validate_id(esp_id, 'esp_id')}"


def client_name(esp_id: str, generation: int) -> str:
    """The broker username of a device's `generation`-th login."""
    return f"{CLIENT_PREFIX}-{validate_id(esp_id, 'esp_id')}-{generation}"


def is_client_name_of(esp_id: str, username: str) -> bool:
    """Whether `username` is one of `esp_id`'s logins (`client_name` of some generation)."""
    prefix = f"{CLIENT_PREFIX}-{validate_id(esp_id, 'esp_id')}-"
    tail = username[len(prefix) :]
    return username.startswith(prefix) and tail.isascii() and tail.isdigit() and len(tail) <= 9


def new_password() -> str:
    """A random password: 192 bits, URL-safe (printable ASCII, no quoting trouble in YAML)."""
    return secrets.token_urlsafe(24)


def device_acls(kaiser_id: str, esp_id: str) -> tuple[Acl, ...]:
    """Everything a device's login may do; the broker's default denies the rest."""
    root = device_root(kaiser_id, esp_id)
    return (
        *(Acl("publishClientSend", root + tail) for tail in DEVICE_PUBLISHES),
        *(Acl("subscribeLiteral", root + tail) for tail in DEVICE_SUBSCRIBES),
        Acl("subscribeLiteral", f"kaiser/{kaiser_id}/broadcast/emergency"),
    )


def relay_role_name(kaiser_id: str) -> str:
    """The role of a Kaiser relay's bridge."""
    return f"{RELAY_ROLE_PREFIX}-{validate_id(kaiser_id, 'kaiser_id')}"


def relay_acls(kaiser_id: str) -> tuple[Acl, ...]:
    """Everything a relay's bridge does on the main broker (its `topic` lines, Mosquitto's
    `notifications` and their last will); the broker's default denies the rest.

    The receive entries keep the bridge working on a broker whose default denies receiving.
    """
    tree = f"kaiser/{validate_id(kaiser_id, 'kaiser_id')}/#"
    return (
        Acl("publishClientSend", tree),
        Acl("publishClientReceive", tree),
        Acl("subscribeLiteral", tree),
        Acl("publishClientReceive", HA_STATUS_TOPIC),
        Acl("subscribeLiteral", HA_STATUS_TOPIC),
        Acl("publishClientSend", bridge_state_topic(bridge_name(kaiser_id))),
    )


# --- a relay's own broker (docs/security.md, "Devices behind a relay") ----------------------

# The group Mosquitto puts anonymous clients in: the devices not secured yet.
ANONYMOUS_GROUP: Final = "a1-anonymous"
RELAY_PROGRAM_ROLE_PREFIX: Final = "a1-kaiser"
SHARED_ROLE_PREFIX: Final = "a1-shared"


def relay_program_username(kaiser_id: str) -> str:
    """The relay program's own login on its broker (and its MQTT client id)."""
    return f"kaiser-{validate_id(kaiser_id, 'kaiser_id')}-relay"


def relay_program_role_name(kaiser_id: str) -> str:
    """The role of the relay program on its own broker."""
    return f"{RELAY_PROGRAM_ROLE_PREFIX}-{validate_id(kaiser_id, 'kaiser_id')}"


def relay_program_acls(kaiser_id: str, bridge: str) -> tuple[Acl, ...]:
    """What the relay program does on its own broker: its kaiser's tree both ways (its relay
    topics, the edge rules' commands, held readings sent again), HA's status and its bridge's
    state. Not the control topic: that is the admin login's."""
    tree = f"kaiser/{validate_id(kaiser_id, 'kaiser_id')}/#"
    return (
        Acl("publishClientSend", tree),
        Acl("publishClientReceive", tree),
        Acl("subscribePattern", tree),
        Acl("publishClientReceive", HA_STATUS_TOPIC),
        Acl("subscribeLiteral", HA_STATUS_TOPIC),
        Acl("publishClientReceive", bridge_state_topic(bridge)),
        Acl("subscribeLiteral", bridge_state_topic(bridge)),
    )


def shared_role_name(kaiser_id: str) -> str:
    """The role of the devices not secured yet (anonymous) on a relay's broker."""
    return f"{SHARED_ROLE_PREFIX}-{validate_id(kaiser_id, 'kaiser_id')}"


def shared_device_acls(kaiser_id: str) -> tuple[Acl, ...]:
    """What any device of the kaiser may do before it has its own login: the device role's
    topics for every `esp_id` (`+`), nothing of the relay's own topics."""
    validate_id(kaiser_id, "kaiser_id")
    root = f"kaiser/{kaiser_id}/esp/+/"
    return (
        *(Acl("publishClientSend", root + tail) for tail in DEVICE_PUBLISHES),
        *(Acl("subscribePattern", root + tail) for tail in DEVICE_SUBSCRIBES),
        Acl("subscribeLiteral", f"kaiser/{kaiser_id}/broadcast/emergency"),
    )


def revoked_acls(kaiser_id: str, esp_id: str) -> tuple[Acl, ...]:
    """What the shared login loses once a device runs under its own login."""
    pattern = device_root(kaiser_id, esp_id) + "#"
    return (
        Acl("publishClientSend", pattern, allow=False, priority=REVOKED_ACL_PRIORITY),
        Acl("publishClientReceive", pattern, allow=False, priority=REVOKED_ACL_PRIORITY),
        Acl("subscribePattern", pattern, allow=False, priority=REVOKED_ACL_PRIORITY),
    )


# --- commands -----------------------------------------------------------------------------


def create_role(rolename: str, acls: Iterable[Acl], textname: str | None = None) -> dict[str, Any]:
    """`createRole` with its ACLs."""
    cmd: dict[str, Any] = {
        "command": "createRole",
        "rolename": rolename,
        "acls": [acl.as_json() for acl in acls],
    }
    if textname is not None:
        cmd["textname"] = textname
    return cmd


def delete_role(rolename: str) -> dict[str, Any]:
    """`deleteRole`."""
    return {"command": "deleteRole", "rolename": rolename}


def create_client(
    username: str,
    password: str,
    *,
    clientid: str | None = None,
    roles: Sequence[tuple[str, int]] = (),
    textname: str | None = None,
) -> dict[str, Any]:
    """`createClient`; with `clientid` the login works only for that MQTT client id."""
    if USERNAME_PATTERN.fullmatch(username) is None:
        raise ValueError("username must be 1-64 characters of A-Z a-z 0-9 _ . @ -")
    if PASSWORD_PATTERN.fullmatch(password) is None:
        raise ValueError("password must be 16-128 printable ASCII characters")
    cmd: dict[str, Any] = {
        "command": "createClient",
        "username": username,
        "password": password,
        "roles": [{"rolename": name, "priority": priority} for name, priority in roles],
    }
    if clientid is not None:
        cmd["clientid"] = clientid
    if textname is not None:
        cmd["textname"] = textname
    return cmd


def delete_client(username: str) -> dict[str, Any]:
    """`deleteClient` (the broker also disconnects a client logged in with it)."""
    return {"command": "deleteClient", "username": username}


def set_client_password(username: str, password: str) -> dict[str, Any]:
    """`setClientPassword`."""
    return {"command": "setClientPassword", "username": username, "password": password}


def get_client(username: str) -> dict[str, Any]:
    """`getClient`: its roles, groups and client id (no password, no connection state)."""
    return {"command": "getClient", "username": username}


def list_clients() -> dict[str, Any]:
    """`listClients`: also the cheapest way to ask whether the plugin answers at all."""
    return {"command": "listClients", "verbose": False}


def add_role_acl(rolename: str, acl: Acl) -> dict[str, Any]:
    """`addRoleACL`."""
    return {"command": "addRoleACL", "rolename": rolename} | acl.as_json()


def remove_role_acl(rolename: str, acl: Acl) -> dict[str, Any]:
    """`removeRoleACL` (by type and topic)."""
    return {
        "command": "removeRoleACL",
        "rolename": rolename,
        "acltype": acl.acltype,
        "topic": acl.topic,
    }


def add_client_role(username: str, rolename: str, priority: int = 0) -> dict[str, Any]:
    """`addClientRole`."""
    return {
        "command": "addClientRole",
        "username": username,
        "rolename": rolename,
        "priority": priority,
    }


def create_group(groupname: str, textname: str | None = None) -> dict[str, Any]:
    """`createGroup`."""
    cmd: dict[str, Any] = {"command": "createGroup", "groupname": groupname}
    if textname is not None:
        cmd["textname"] = textname
    return cmd


def has_role(roles: object, rolename: str) -> bool:
    """Whether a `getClient` / `getGroup` answer's `roles` list holds `rolename`."""
    return isinstance(roles, list) and any(
        isinstance(r, dict) and r.get("rolename") == rolename for r in roles
    )


def get_group(groupname: str) -> dict[str, Any]:
    """`getGroup`: its roles and clients."""
    return {"command": "getGroup", "groupname": groupname}


def add_group_role(groupname: str, rolename: str, priority: int = 0) -> dict[str, Any]:
    """`addGroupRole`."""
    return {
        "command": "addGroupRole",
        "groupname": groupname,
        "rolename": rolename,
        "priority": priority,
    }


def set_anonymous_group(groupname: str) -> dict[str, Any]:
    """`setAnonymousGroup`: the roles anonymous clients get (with `allow_anonymous true`)."""
    return {"command": "setAnonymousGroup", "groupname": groupname}


def encode_commands(commands: Sequence[Mapping[str, Any]], correlation: str) -> bytes:
    """The payload for CONTROL_TOPIC; every command carries `correlation` + its index."""
    return json.dumps(
        {
            "commands": [
                dict(cmd) | {"correlationData": f"{correlation}-{index}"}
                for index, cmd in enumerate(commands)
            ]
        },
        separators=(",", ":"),
    ).encode()


# --- responses ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Response:
    """One answer of the broker."""

    command: str
    correlation: str | None
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """No error."""
        return self.error is None


def parse_responses(payload: bytes | str) -> tuple[Response, ...]:
    """Read a RESPONSE_TOPIC payload; anything else than dynsec's shape is a DynsecError."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise DynsecError("response", f"not JSON: {err}") from None
    items = doc.get("responses") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise DynsecError("response", "no responses list")
    out = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("command"), str):
            raise DynsecError("response", "a response without its command")
        error = item.get("error")
        data = item.get("data")
        correlation = item.get("correlationData")
        out.append(
            Response(
                command=item["command"],
                correlation=correlation if isinstance(correlation, str) else None,
                error=str(error) if error is not None else None,
                data=data if isinstance(data, dict) else {},
            )
        )
    return tuple(out)


ALREADY_EXISTS: Final = ("already exists",)
NOT_FOUND: Final = ("not found",)


def is_error(response: Response, kinds: tuple[str, ...]) -> bool:
    """Whether the broker's error text says one of `kinds` (its texts are not codes)."""
    return response.error is not None and any(k in response.error.lower() for k in kinds)
