"""The broker side of a device's login: create, confirm (revoke the old access), remove.

Every step is idempotent (a retry after a lost answer finds its work done), so HA can repeat
one after a restart. docs/security.md describes the sequence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .client import DynsecClient
from .dynsec import (
    ALREADY_EXISTS,
    NOT_FOUND,
    REVOKED_ROLE,
    REVOKED_ROLE_PRIORITY,
    Acl,
    add_client_role,
    add_group_role,
    add_role_acl,
    client_name,
    create_client,
    create_role,
    delete_client,
    delete_role,
    device_acls,
    get_client,
    get_group,
    has_role,
    list_clients,
    new_password,
    remove_role_acl,
    revoked_acls,
    role_name,
)


@dataclass(frozen=True, slots=True)
class NewLogin:
    """A login just created on the broker; the password exists only here and in the command."""

    username: str
    password: str

    def __repr__(self) -> str:
        """Never show the password (logs, tracebacks)."""
        return f"NewLogin(username={self.username!r}, password=<redacted>)"


def check_plugin(client: DynsecClient) -> None:
    """Raises DynsecUnavailableError when no plugin answers (or DynsecError if refused)."""
    client.check([list_clients()])


def create_login(
    client: DynsecClient,
    kaiser_id: str,
    esp_id: str,
    generation: int,
    *,
    password: str | None = None,
) -> NewLogin:
    """The device's role (kept if it exists) and a fresh client of `generation` (with a new
    password, or `password`: the one HA made for a relay's broker)."""
    return create_bound_login(
        client,
        role=role_name(kaiser_id, esp_id),
        acls=device_acls(kaiser_id, esp_id),
        username=client_name(esp_id, generation),
        clientid=esp_id,
        textname=f"AutomationOne {esp_id}",
        password=password,
    )


def create_bound_login(
    client: DynsecClient,
    *,
    role: str,
    acls: Sequence[Acl],
    username: str,
    clientid: str,
    textname: str,
    password: str | None = None,
) -> NewLogin:
    """`role` with `acls` (kept if it exists) and a client `username` with a new password
    (or `password`), bound to the MQTT client id `clientid`; an existing client of that name
    is replaced."""
    password = new_password() if password is None else password
    client.check([create_role(role, acls, textname=textname)], tolerate=ALREADY_EXISTS)
    # A client of this name left from an attempt whose answer got lost: replace it.
    client.check([delete_client(username)], tolerate=NOT_FOUND)
    client.check(
        [create_client(username, password, clientid=clientid, roles=[(role, 0)], textname=textname)]
    )
    return NewLogin(username, password)


def revoke_old_access(
    client: DynsecClient,
    kaiser_id: str,
    esp_id: str,
    *,
    previous_username: str | None,
    shared_login: str | None,
    shared_group: str | None = None,
) -> None:
    """The device runs under its own login now: the previous one stops working, and the
    shared login (a client) or the shared group (on a relay's broker the anonymous group)
    loses the device's topics."""
    if previous_username is not None:
        client.check([delete_client(previous_username)], tolerate=NOT_FOUND)
    if not shared_login and not shared_group:
        return
    client.check(
        [create_role(REVOKED_ROLE, (), textname="AutomationOne: revoked")],
        tolerate=ALREADY_EXISTS,
    )
    if shared_login:
        (found,) = client.check([get_client(shared_login)])
        roles = found.data.get("client", {}).get("roles", [])
        if not has_role(roles, REVOKED_ROLE):
            # (a second addClientRole of the same role is "Internal error" in Mosquitto 2.0)
            client.check([add_client_role(shared_login, REVOKED_ROLE, REVOKED_ROLE_PRIORITY)])
    if shared_group:
        (found,) = client.check([get_group(shared_group)])
        if not has_role(found.data.get("group", {}).get("roles", []), REVOKED_ROLE):
            client.check([add_group_role(shared_group, REVOKED_ROLE, REVOKED_ROLE_PRIORITY)])
    client.check(
        [add_role_acl(REVOKED_ROLE, acl) for acl in revoked_acls(kaiser_id, esp_id)],
        tolerate=ALREADY_EXISTS,
    )


def remove_logins(client: DynsecClient, usernames: list[str]) -> None:
    """Delete clients (a login that was never confirmed)."""
    for username in usernames:
        client.check([delete_client(username)], tolerate=NOT_FOUND)


def remove_device(client: DynsecClient, kaiser_id: str, esp_id: str, usernames: list[str]) -> None:
    """The device is deleted in HA: its logins, its role and its revocation entries go."""
    for username in usernames:
        client.check([delete_client(username)], tolerate=NOT_FOUND)
    client.check([delete_role(role_name(kaiser_id, esp_id))], tolerate=NOT_FOUND)
    client.check(
        [remove_role_acl(REVOKED_ROLE, acl) for acl in revoked_acls(kaiser_id, esp_id)],
        tolerate=NOT_FOUND,
    )
