"""Reference AI service: receives AutomationOne's reading batches, posts recommendations back.

Run it beside Home Assistant (the seed's "God" on port 8001):

    python -m examples.ai_service.app --webhook http://ha:8123/api/webhook/<id> \
        --rules rules.json --port 8001

and set `http://<this host>:8001/readings` as the push URL in the device's options
(Settings > Devices > the device > Configure > External AI service). `rules.json` maps a
sensor entity to its band and the actuators that correct it:

    {"sensor.greenhouse_1_tank_ph": {"low": 5.5, "high": 7.0,
        "raise": {"actuator": "switch.greenhouse_1_ph_up", "duration_s": 2},
        "lower": {"actuator": "switch.greenhouse_1_ph_down", "duration_s": 2}}}

For every batch it fits the pure package's linear trend on each sensor's recent readings and,
when the line crosses the band within the horizon, posts a recommendation in the schema
`automationone.recommendations/1`. Home Assistant shows it for approval; nothing runs by itself.
"""

from __future__ import annotations

import argparse
from collections import defaultdict, deque
from collections.abc import AsyncIterator
import json
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
import numpy as np

from custom_components.automationone.predictions import LinearTrend
from custom_components.automationone.predictions.external import (
    ExternalAction,
    ExternalRecommendation,
    SchemaError,
    parse_readings,
    recommendations_body,
)

HISTORY = 2000  # readings kept per sensor
HORIZON_S = 7200.0
MIN_READINGS = 5
EXPIRES_S = 1800.0

WEBHOOK = web.AppKey("webhook", str)
RULES = web.AppKey("rules", dict)
HISTORY_KEY = web.AppKey("history", dict)
SENT = web.AppKey("sent", list)
SESSION = web.AppKey("session", ClientSession)


def recommend(
    sensor: str, rows: list[tuple[float, float]], rule: dict[str, Any], horizon_s: float
) -> ExternalRecommendation | None:
    """What one sensor's recent readings call for under its rule, or None."""
    if len(rows) < MIN_READINGS:
        return None
    t = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    model = LinearTrend().fit(t, y)
    for edge, kind, rising in (("low", "raise", False), ("high", "lower", True)):
        threshold = rule.get(edge)
        if threshold is None:
            continue
        in_s = model.time_to_threshold(float(threshold), rising=rising, within_s=horizon_s)
        if in_s is None:
            continue
        fc = model.forecast(horizon_s)
        width = fc.upper - fc.lower
        beyond = (threshold - fc.lower) if not rising else (fc.upper - threshold)
        confidence = 1.0 if width <= 0 else min(1.0, max(0.0, beyond / width))
        action = None
        if (target := rule.get(kind)) is not None:
            action = ExternalAction(str(target["actuator"]), float(target["duration_s"]))
        word = "below" if not rising else "above"
        return ExternalRecommendation(
            sensor=sensor,
            kind=f"{kind}_value",
            summary=f"trend: {word} {threshold:g} in about {max(1, round(in_s / 60))} min",
            confidence=round(confidence, 3),
            expires_in_s=EXPIRES_S,
            action=action,
        )
    return None


async def handle_readings(request: web.Request) -> web.Response:
    """A batch from Home Assistant: learn, then recommend through the webhook."""
    try:
        _device, rows = parse_readings(await request.read())
    except SchemaError as err:
        return web.json_response({"error": str(err)}, status=400)
    history: dict[str, deque[tuple[float, float]]] = request.app[HISTORY_KEY]
    for row in rows:
        if row.quality in ("good", "suspect"):
            history[row.sensor].append((row.t, row.value))
    recs = []
    for sensor, rule in request.app[RULES].items():
        rec = recommend(sensor, list(history[sensor]), rule, HORIZON_S)
        if rec is not None:
            recs.append(rec)
    status = None
    if recs:
        async with request.app[SESSION].post(
            request.app[WEBHOOK],
            data=recommendations_body(recs),
            headers={"Content-Type": "application/json"},
        ) as resp:
            status = resp.status
            request.app[SENT].append((status, await resp.json()))
    return web.json_response({"received": len(rows), "recommended": len(recs), "webhook": status})


async def _session(app: web.Application) -> AsyncIterator[None]:
    """One client session for the webhook calls, for the app's lifetime."""
    async with ClientSession(timeout=ClientTimeout(total=10)) as session:
        app[SESSION] = session
        yield


def make_app(webhook_url: str, rules: dict[str, Any]) -> web.Application:
    """The service: POST /readings."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[WEBHOOK] = webhook_url
    app[RULES] = rules
    app[HISTORY_KEY] = defaultdict(lambda: deque(maxlen=HISTORY))
    app[SENT] = []
    app.router.add_post("/readings", handle_readings)
    app.cleanup_ctx.append(_session)
    return app


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--webhook", required=True, help="the device's webhook URL")
    parser.add_argument("--rules", required=True, type=Path, help="rules JSON (see the module doc)")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    rules = json.loads(args.rules.read_text(encoding="utf-8"))
    web.run_app(make_app(args.webhook, rules), port=args.port)


if __name__ == "__main__":
    main()
