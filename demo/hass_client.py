"""The few Home Assistant HTTP and websocket calls the demo needs (onboarding, flows, entries)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp


class HassError(RuntimeError):
    """Home Assistant answered something the demo did not expect."""


class HassClient:
    """A REST + websocket client for one Home Assistant instance, as its owner."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.client_id = f"{self.url}/"
        self.redirect_uri = f"{self.url}/?auth_callback=1"
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        self._token: str | None = None

    async def close(self) -> None:
        await self._session.close()

    # --- plain HTTP -------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        auth: bool = True,
        ok: tuple[int, ...] = (200,),
    ) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if auth and self._token else {}
        async with self._session.request(
            method, self.url + path, json=json, headers=headers
        ) as resp:
            text = await resp.text()
            if resp.status not in ok:
                raise HassError(f"{method} {path}: HTTP {resp.status}: {text[:500]}")
            if resp.content_type == "application/json":
                return await resp.json()
            return text

    async def wait_http(self, limit: float, alive: Any) -> None:
        """Wait until the HTTP server answers; `alive()` false means HA died: stop waiting."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if not alive():
                raise HassError("Home Assistant exited during start-up")
            with contextlib.suppress(aiohttp.ClientError, OSError, TimeoutError):
                async with self._session.get(
                    self.url + "/manifest.json", timeout=aiohttp.ClientTimeout(total=5)
                ) as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.5)
        raise HassError(f"Home Assistant did not answer on {self.url} within {limit:.0f} s")

    # --- auth and onboarding ----------------------------------------------------------------
    async def onboarding_steps(self) -> dict[str, bool] | None:
        """Steps and whether each is done; None once onboarding is complete (view gone)."""
        async with self._session.get(self.url + "/api/onboarding") as resp:
            if resp.status == 404:
                return None
            if resp.status != 200:
                raise HassError(f"GET /api/onboarding: HTTP {resp.status}")
            return {step["step"]: step["done"] for step in await resp.json()}

    async def _token_from_code(self, code: str) -> None:
        data = {"grant_type": "authorization_code", "code": code, "client_id": self.client_id}
        async with self._session.post(self.url + "/auth/token", data=data) as resp:
            if resp.status != 200:
                raise HassError(f"POST /auth/token: HTTP {resp.status}: {await resp.text()}")
            self._token = (await resp.json())["access_token"]

    async def create_owner(self, name: str, username: str, password: str) -> None:
        result = await self.request(
            "POST",
            "/api/onboarding/users",
            auth=False,
            json={
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": "en",
            },
        )
        await self._token_from_code(result["auth_code"])

    async def login(self, username: str, password: str) -> None:
        flow = await self.request(
            "POST",
            "/auth/login_flow",
            auth=False,
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.redirect_uri,
            },
        )
        result = await self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            auth=False,
            json={"username": username, "password": password, "client_id": self.client_id},
        )
        if result.get("type") != "create_entry":
            raise HassError(f"login as {username!r} failed: {result.get('errors') or result}")
        await self._token_from_code(result["result"])

    async def finish_onboarding_step(self, step: str) -> None:
        body = {"client_id": self.client_id, "redirect_uri": self.redirect_uri}
        await self.request(
            "POST", f"/api/onboarding/{step}", json=body if step == "integration" else {}
        )

    # --- websocket --------------------------------------------------------------------------
    async def ws(self, *messages: dict[str, Any]) -> list[Any]:
        """Send commands over one websocket connection; return their results in order."""
        results: list[Any] = []
        async with self._session.ws_connect(self.url + "/api/websocket") as sock:
            await sock.receive_json()  # auth_required
            await sock.send_json({"type": "auth", "access_token": self._token})
            if (reply := await sock.receive_json())["type"] != "auth_ok":
                raise HassError(f"websocket auth failed: {reply}")
            for msg_id, message in enumerate(messages, start=1):
                await sock.send_json({"id": msg_id, **message})
                while True:
                    reply = await sock.receive_json()
                    if reply.get("id") == msg_id and reply.get("type") == "result":
                        break
                if not reply["success"]:
                    raise HassError(f"websocket {message['type']}: {reply['error']}")
                results.append(reply["result"])
        return results

    # --- config entries and flows -----------------------------------------------------------
    async def entries(self, domain: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = await self.request(
            "GET", f"/api/config/config_entries/entry?domain={domain}"
        )
        return entries

    async def start_flow(self, handler: str, **extra: Any) -> dict[str, Any]:
        flow: dict[str, Any] = await self.request(
            "POST", "/api/config/config_entries/flow", json={"handler": handler, **extra}
        )
        return flow

    async def flow_step(self, flow_id: str, user_input: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.request(
            "POST", f"/api/config/config_entries/flow/{flow_id}", json=user_input
        )
        return result

    async def flows_in_progress(self, handler: str) -> list[dict[str, Any]]:
        (flows,) = await self.ws({"type": "config_entries/flow/progress"})
        return [flow for flow in flows if flow["handler"] == handler]
