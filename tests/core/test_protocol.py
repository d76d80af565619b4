"""Protocol v1: the shared vectors, the JSON Schemas and round trips."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import json
from typing import Any

from hypothesis import given, settings, strategies as st
import jsonschema
import orjson
import pytest

from custom_components.automationone import protocol as p
from custom_components.automationone.protocol.schema import SCHEMA_DIR, load_schema

from ..protocol_vectors import load

PAYLOADS = load("payloads") + load("ota")
TOPICS = load("topics")

PARSERS: dict[str, Callable[[Any], Any]] = {
    "announce": p.parse_announce,
    "heartbeat": p.parse_heartbeat,
    "config": p.parse_config,
    "config_ack": p.parse_config_ack,
    "sensor_batch": p.parse_sensor_batch,
    "processed": p.parse_processed,
    "actuator_command": p.parse_actuator_command,
    "actuator_status": p.parse_actuator_status,
    "system_command": p.parse_system_command,
    "emergency": p.parse_emergency,
    "ota_status": p.parse_ota_status,
    "status": p.parse_status,
}


def _payload(vector: dict[str, Any]) -> str | bytes:
    """The payload text, or its bytes for a vector given in hex (not valid UTF-8)."""
    if "payload_hex" in vector:
        return bytes.fromhex(vector["payload_hex"])
    payload: str = vector["payload"]
    return payload


def _parse(vector: dict[str, Any]) -> Any:
    if vector["kind"] == "sensor_data":
        return p.parse_sensor_data(_payload(vector), vector["gpio"])
    return PARSERS[vector["kind"]](_payload(vector))


def _encode(vector: dict[str, Any], message: Any) -> Any:
    if vector["kind"] == "status":
        return message
    if vector["kind"] == "sensor_data":
        return orjson.loads(p.encode_sensor_data(message))
    if vector["kind"] == "sensor_batch":
        return orjson.loads(p.encode_sensor_batch(message))
    return orjson.loads(p.encode(message))


def test_every_schema_has_vectors() -> None:
    """Each payload kind is covered by accepted and rejected vectors."""
    schema_kinds = {f.name.removesuffix(".schema.json") for f in SCHEMA_DIR.glob("*.json")}
    accepted = {v["kind"] for v in PAYLOADS if v["expect"]["ok"]}
    rejected = {v["kind"] for v in PAYLOADS if not v["expect"]["ok"]}
    assert schema_kinds <= accepted
    assert schema_kinds <= rejected


@pytest.mark.parametrize("vector", PAYLOADS, ids=[v["name"] for v in PAYLOADS])
def test_payload_vector(vector: dict[str, Any]) -> None:
    """Parsing gives the expected value, or the expected error code and path."""
    expect = vector["expect"]
    if expect["ok"]:
        assert _encode(vector, _parse(vector)) == expect["value"]
        return
    with pytest.raises(p.ProtocolError) as err:
        _parse(vector)
    assert (err.value.code, err.value.path) == (expect["error"], expect["path"])


@pytest.mark.parametrize(
    "vector",
    [v for v in PAYLOADS if v["kind"] != "status"],
    ids=[v["name"] for v in PAYLOADS if v["kind"] != "status"],
)
def test_vector_agrees_with_reference_json_schema(vector: dict[str, Any]) -> None:
    """The schema files, read by the reference validator, agree with every decodable vector."""
    try:
        document = json.loads(_payload(vector))
    except (ValueError, RecursionError):
        return  # malformed JSON never reaches a schema
    errors = {"too_large", "not_finite", "malformed_json"}
    if vector["expect"].get("error") in errors or vector.get("beyond_schema"):
        return
    validator = jsonschema.Draft202012Validator(load_schema(vector["kind"]))
    assert validator.is_valid(document) is vector["expect"]["ok"]


@pytest.mark.parametrize("vector", TOPICS, ids=[v["topic"] for v in TOPICS])
def test_topic_vector(vector: dict[str, Any]) -> None:
    """Topics parse to kind, ids and pin, or fail with the expected code."""
    expect = vector["expect"]
    if not expect["ok"]:
        with pytest.raises(p.ProtocolError) as err:
            p.parse_topic(vector["topic"])
        assert err.value.code == expect["error"]
        return
    topic = p.parse_topic(vector["topic"])
    assert (topic.kind.value, topic.kaiser_id, topic.esp_id, topic.gpio) == (
        expect["kind"],
        expect["kaiser_id"],
        expect["esp_id"],
        expect["gpio"],
    )


@pytest.mark.parametrize("vector", [v for v in TOPICS if v["expect"]["ok"]], ids=str)
def test_topic_round_trip(vector: dict[str, Any]) -> None:
    """Building a topic from its parts gives the same string."""
    topic = p.parse_topic(vector["topic"])
    if topic.kind is p.TopicKind.EMERGENCY:
        built = p.emergency_topic(topic.kaiser_id)
    else:
        built = p.device_topic(topic.kaiser_id, topic.esp_id, topic.kind, topic.gpio)
    assert built == vector["topic"]


@pytest.mark.parametrize("bad", ["a+b", "a#", "a/b", "", "x" * 33, "ü"])
def test_builders_refuse_bad_ids(bad: str) -> None:
    """No topic is ever built from an id that would be a wildcard or a level separator."""
    with pytest.raises(p.ProtocolError, match="invalid_id"):
        p.device_topic("god", bad, p.TopicKind.STATUS)
    with pytest.raises(p.ProtocolError, match="invalid_id"):
        p.emergency_topic(bad)


def test_device_topic_checks_gpio_use() -> None:
    """Per-pin kinds need a pin and device-wide kinds take none."""
    with pytest.raises(ValueError, match="needs gpio"):
        p.device_topic("god", "e1", p.TopicKind.SENSOR_DATA)
    with pytest.raises(ValueError, match="takes no gpio"):
        p.device_topic("god", "e1", p.TopicKind.HEARTBEAT, 4)


@given(st.binary(max_size=2048))
def test_arbitrary_bytes_never_crash(payload: bytes) -> None:
    """Any byte string either parses or raises ProtocolError, never anything else."""
    for parse in PARSERS.values():
        with contextlib.suppress(p.ProtocolError):
            parse(payload)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(["v", "seq", "raw", "value", "gpio", "ts"]), children),
        max_leaves=20,
    )
)
def test_arbitrary_json_never_crashes(document: Any) -> None:
    """Any JSON document (NaN included) either parses or raises ProtocolError."""
    payload = json.dumps(document)
    try:
        p.parse_sensor_batch(payload)
        p.parse_sensor_data(payload, 1)
    except p.ProtocolError:
        pass


@given(
    seq=st.integers(0, 2**32 - 1),
    raws=st.lists(st.integers(0, 4095), min_size=1, max_size=64),
)
def test_sensor_batch_round_trip(seq: int, raws: list[int]) -> None:
    """A batch the simulator builds parses back to the same readings."""
    data = p.SensorData(seq, tuple(p.Reading(gpio=i % 40, raw=r) for i, r in enumerate(raws)))
    assert p.parse_sensor_batch(p.encode_sensor_batch(data)) == data


@pytest.mark.parametrize(
    ("topic", "path"),
    [
        ("kaiser/god/esp/other/announce", "esp_id"),
        ("kaiser/relay/esp/esp-a1b2c3/announce", "kaiser_id"),
    ],
)
def test_announce_ids_must_match_topic(topic: str, path: str) -> None:
    """An announce cannot claim another device's or kaiser's identity."""
    payload = next(v["payload"] for v in PAYLOADS if v["name"] == "announce full")
    with pytest.raises(p.ProtocolError) as err:
        p.parse_announce(payload, p.parse_topic(topic))
    assert (err.value.code, err.value.path) == (p.ErrorCode.ID_MISMATCH, path)
    assert p.parse_announce(payload, p.parse_topic("kaiser/god/esp/esp-a1b2c3/announce"))


def test_reading_quantity() -> None:
    """A processed reading names its quantity (docs/protocol.md, sensor data): `[a-z_]{1,16}`,
    optional, in single readings and in batches; it survives a round trip."""
    one = p.parse_sensor_data(
        b'{"v":1,"seq":3,"value":61.5,"unit":"%","addr":"0x44","quantity":"humidity"}', 21
    )
    assert one.readings[0].quantity == "humidity"
    assert (
        p.parse_sensor_data(b'{"v":1,"seq":3,"value":24.5,"unit":"\xc2\xb0C"}', 21)
        .readings[0]
        .quantity
        is None
    )
    batch = (
        b'{"v":1,"seq":4,"readings":[{"gpio":21,"value":24.5,"unit":"\xc2\xb0C"},'
        b'{"gpio":21,"value":61.5,"unit":"%","quantity":"humidity"}]}'
    )
    data = p.parse_sensor_batch(batch)
    assert [r.quantity for r in data.readings] == [None, "humidity"]
    assert p.parse_sensor_batch(p.encode_sensor_batch(data)) == data
    assert p.parse_sensor_data(p.encode_sensor_data(one), 21) == one
    for bad in ('"Humidity"', '""', '"a_very_long_quantity"', "7"):
        with pytest.raises(p.ProtocolError):
            p.parse_sensor_data(f'{{"v":1,"seq":3,"value":1,"quantity":{bad}}}', 21)


def _outcome(parse: Callable[[], p.SensorData]) -> p.SensorData | str:
    try:
        return parse()
    except p.ProtocolError as err:
        return err.code.value


_EDGE_INTS = st.sampled_from([0, 1, -1, 4095, 65535, 4294967295, 4294967296, 9007199254740991,
                              9007199254740992, 1764590400000])  # fmt: skip
_FIELD_VALUES = st.one_of(_EDGE_INTS, st.booleans(), st.none(), st.floats(allow_nan=False),
                          st.text(max_size=3))  # fmt: skip


@settings(max_examples=500)
@given(
    seq=st.one_of(st.integers(0, 1000), _FIELD_VALUES),
    raw=st.one_of(st.integers(0, 4095), _FIELD_VALUES),
    ts=st.one_of(st.just("absent"), st.integers(0, 2**53), _FIELD_VALUES),
    extra=st.sampled_from([{}, {"v": 2}, {"replay": True}, {"tz": 1}]),
)  # fmt: skip
def test_ingest_shortcut_agrees_with_the_validator(
    seq: object, raw: object, ts: object, extra: dict[str, object]
) -> None:
    """The ingest path's shortcut (bytes payloads of the common shapes, `ts` or not) gives what
    the schema validator gives (a str payload always takes the validator), for single readings
    and batches: the same readings, `ts` and flags, or the same error code."""
    head: dict[str, object] = {"v": 1, "seq": seq}
    if ts != "absent":
        head["ts"] = ts
    single = json.dumps({**head, "raw": raw, **extra})
    assert _outcome(lambda: p.parse_sensor_data(single.encode(), 34)) == _outcome(
        lambda: p.parse_sensor_data(single, 34)
    )
    batch = json.dumps({**head, "readings": [{"gpio": 34, "raw": raw}, {"gpio": 5, "raw": 7}],
                        **extra})  # fmt: skip
    assert _outcome(lambda: p.parse_sensor_batch(batch.encode())) == _outcome(
        lambda: p.parse_sensor_batch(batch)
    )
