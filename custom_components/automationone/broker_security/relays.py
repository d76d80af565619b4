"""The broker side of a Kaiser relay: its bridge's login on the main broker (create,
idempotent, and remove), and the relay's own broker as the relay program sets it up.

The relay's Mosquitto logs in to the main broker as client `kaiser-{kaiser_id}` (its
`remote_username`, the same as its `remote_clientid`, to which the login is bound) with the
role `a1-relay-{kaiser_id}` (dynsec.relay_acls). docs/security.md, "A relay's bridge".

On the relay's own broker (with the dynamic-security plugin) the relay program is the admin's
agent: it gives itself a login (`kaiser-{kaiser_id}-relay`), lets anonymous devices (those
not secured yet) in only to the device topics of its kaiser, and creates and revokes the
devices' logins there with `devices`' functions (docs/security.md, "Devices behind a relay").
"""

from __future__ import annotations

from ..protocol.relay import bridge_name
from .client import DynsecClient
from .devices import NewLogin, check_plugin, create_bound_login
from .dynsec import (
    ALREADY_EXISTS,
    ANONYMOUS_GROUP,
    NOT_FOUND,
    add_group_role,
    create_group,
    create_role,
    delete_client,
    delete_role,
    get_group,
    has_role,
    relay_acls,
    relay_program_acls,
    relay_program_role_name,
    relay_program_username,
    relay_role_name,
    set_anonymous_group,
    shared_device_acls,
    shared_role_name,
)


def relay_username(kaiser_id: str) -> str:
    """The bridge's broker login (and its client id)."""
    return bridge_name(kaiser_id)


def create_relay_login(client: DynsecClient, kaiser_id: str) -> NewLogin:
    """The relay's role (kept if it exists) and its client with a new password (the old
    password stops working, and a bridge connected with it is disconnected)."""
    return create_bound_login(
        client,
        role=relay_role_name(kaiser_id),
        acls=relay_acls(kaiser_id),
        username=relay_username(kaiser_id),
        clientid=bridge_name(kaiser_id),
        textname=f"AutomationOne Kaiser relay {kaiser_id}",
    )


def remove_relay_login(client: DynsecClient, kaiser_id: str) -> None:
    """The relay's entry is deleted in HA: its client and role go."""
    client.check([delete_client(relay_username(kaiser_id))], tolerate=NOT_FOUND)
    client.check([delete_role(relay_role_name(kaiser_id))], tolerate=NOT_FOUND)


def setup_relay_broker(client: DynsecClient, kaiser_id: str, bridge: str) -> NewLogin:
    """The relay's own broker, by the relay program at its start (idempotent): anonymous
    clients (the devices not secured yet) get the shared device role through the anonymous
    group, and the relay program a login of its own, with a new password each start."""
    check_plugin(client)
    shared = shared_role_name(kaiser_id)
    client.check(
        [
            create_role(
                shared,
                shared_device_acls(kaiser_id),
                textname=f"AutomationOne: devices of {kaiser_id} without their own login",
            )
        ],
        tolerate=ALREADY_EXISTS,
    )
    client.check(
        [create_group(ANONYMOUS_GROUP, textname="AutomationOne: anonymous devices")],
        tolerate=ALREADY_EXISTS,
    )
    (group,) = client.check([get_group(ANONYMOUS_GROUP)])
    if not has_role(group.data.get("group", {}).get("roles", []), shared):
        client.check([add_group_role(ANONYMOUS_GROUP, shared, 0)])
    client.check([set_anonymous_group(ANONYMOUS_GROUP)])
    username = relay_program_username(kaiser_id)
    return create_bound_login(
        client,
        role=relay_program_role_name(kaiser_id),
        acls=relay_program_acls(kaiser_id, bridge),
        username=username,
        clientid=username,
        textname=f"AutomationOne Kaiser relay program {kaiser_id}",
    )
