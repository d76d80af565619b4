"""The broker side of a Kaiser relay's bridge login: create (idempotent) and remove.

The relay's Mosquitto logs in to the main broker as client `kaiser-{kaiser_id}` (its
`remote_username`, the same as its `remote_clientid`, to which the login is bound) with the
role `a1-relay-{kaiser_id}` (dynsec.relay_acls). docs/security.md, "A relay's bridge".
"""

from __future__ import annotations

from ..protocol.relay import bridge_name
from .client import DynsecClient
from .devices import NewLogin, create_bound_login
from .dynsec import NOT_FOUND, delete_client, delete_role, relay_acls, relay_role_name


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
