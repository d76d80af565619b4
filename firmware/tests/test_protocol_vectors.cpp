// Runs tests/vectors/protocol/*.json against the firmware's parser: error code and path for
// rejected payloads, fields of the typed result for accepted ones.
#include <doctest/doctest.h>
#include <math.h>
#include <string.h>

#include "a1/protocol.h"
#include "vectors.h"

using namespace a1;

namespace {
JsonDoc g_doc;

const cJSON *value_of(const cJSON *v) {
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "expect"), "value");
}
double num(const cJSON *obj, const char *key, double fallback) {
  const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsNumber(item) ? item->valuedouble : fallback;
}

void check_accepted_fields(const std::string &kind, const std::string &payload, const cJSON *value) {
  if (kind == "config") {
    static DeviceConfig cfg;
    REQUIRE(parse_config(payload.data(), payload.size(), g_doc, cfg).ok());
    CHECK(cfg.version == num(value, "version", -1));
    CHECK(cfg.heartbeat_s == num(value, "heartbeat_s", 0));
    const cJSON *sensors = cJSON_GetObjectItemCaseSensitive(value, "sensors");
    const cJSON *actuators = cJSON_GetObjectItemCaseSensitive(value, "actuators");
    REQUIRE(cfg.n_sensors == cJSON_GetArraySize(sensors));
    REQUIRE(cfg.n_actuators == cJSON_GetArraySize(actuators));
    for (int i = 0; i < cfg.n_sensors; i++) {
      const cJSON *s = cJSON_GetArrayItem(sensors, i);
      CHECK(cfg.sensors[i].gpio == num(s, "gpio", -1));
      CHECK(std::string(cfg.sensors[i].type) == json_str(s, "type"));
      CHECK(cfg.sensors[i].interval_ms == num(s, "interval_ms", -1));
      CHECK(std::string(cfg.sensors[i].addr) == json_str(s, "addr"));
      CHECK(cfg.sensors[i].scl == num(s, "scl", -1));
      CHECK(cfg.sensors[i].processed == (json_str(s, "mode") == "processed"));
    }
    for (int i = 0; i < cfg.n_actuators; i++) {
      const cJSON *a = cJSON_GetArrayItem(actuators, i);
      CHECK(cfg.actuators[i].gpio == num(a, "gpio", -1));
      CHECK(std::string(actuator_type_name(cfg.actuators[i].type)) == json_str(a, "type"));
      CHECK(cfg.actuators[i].safe_state == num(a, "safe_state", 0));
      CHECK(cfg.actuators[i].max_runtime_s == num(a, "max_runtime_s", 0));
      CHECK(cfg.actuators[i].cooldown_s == num(a, "cooldown_s", 0));
      CHECK(cfg.actuators[i].max_per_hour == num(a, "max_per_hour", 0));
      CHECK(cfg.actuators[i].failsafe_s == num(a, "failsafe_s", 0));
      CHECK(cfg.actuators[i].inverted == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "inverted")));
    }
  } else if (kind == "actuator_command") {
    ActuatorCommand cmd;
    REQUIRE(parse_actuator_command(payload.data(), payload.size(), g_doc, cmd).ok());
    static const char *const kActions[] = {"on", "off", "set", "pulse"};
    CHECK(std::string(kActions[static_cast<int>(cmd.action)]) == json_str(value, "action"));
    CHECK(cmd.value == num(value, "value", -1));
    CHECK(cmd.duration_s == doctest::Approx(num(value, "duration_s", 0)));
    CHECK(std::string(cmd.cmd_id) == json_str(value, "cmd_id"));
    CHECK(std::string(cmd.source) == json_str(value, "source"));
  } else if (kind == "system_command") {
    SystemCommand cmd;
    REQUIRE(parse_system_command(payload.data(), payload.size(), g_doc, cmd).ok());
    static const char *const kCmds[] = {"restart", "factory_reset", "ota", "identify", "login", "move"};
    CHECK(std::string(kCmds[static_cast<int>(cmd.cmd)]) == json_str(value, "cmd"));
    CHECK(std::string(cmd.url) == json_str(value, "url"));
    CHECK(std::string(cmd.username) == json_str(value, "username"));
    CHECK(std::string(cmd.password) == json_str(value, "password"));
    CHECK(std::string(cmd.ca) == json_str(value, "ca"));
    CHECK(cmd.port == num(value, "port", 0));
    CHECK(std::string(cmd.kaiser_id) == json_str(value, "kaiser_id"));
    CHECK(std::string(cmd.host) == json_str(value, "host"));
  } else if (kind == "emergency") {
    Emergency e;
    REQUIRE(parse_emergency(payload.data(), payload.size(), g_doc, e).ok());
    CHECK(e.stop == (json_str(value, "action") == "stop"));
    CHECK(std::string(e.reason) == json_str(value, "reason"));
  } else if (kind == "processed") {
    Processed p;
    REQUIRE(parse_processed(payload.data(), payload.size(), g_doc, p).ok());
    CHECK(p.value == doctest::Approx(num(value, "value", NAN)));
    CHECK(std::string(p.unit) == json_str(value, "unit"));
    CHECK(std::string(p.quality) == json_str(value, "quality"));
    CHECK(p.seq == num(value, "seq", -1));
  }
}
}  // namespace

TEST_CASE("payload vectors: same error code and path as every implementation") {
  cJSON *root = load_vectors("tests/vectors/protocol/payloads.json");
  REQUIRE(root != nullptr);
  const cJSON *vectors = cJSON_GetObjectItemCaseSensitive(root, "vectors");
  int checked = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, vectors) {
    std::string name = json_str(v, "name");
    std::string kind = json_str(v, "kind");
    std::string payload = vector_payload(v);
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(v, "expect");
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "ok"));
    CAPTURE(name);
    Error err;
    if (kind == "status") {
      bool online = false;
      err = parse_status(payload.data(), payload.size(), online);
      if (ok) CHECK(online == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "value")));
    } else {
      PayloadKind pk;
      REQUIRE(payload_kind_from_name(kind.c_str(), pk));
      if (kind == "actuator_command") {
        ActuatorCommand cmd;
        err = parse_actuator_command(payload.data(), payload.size(), g_doc, cmd);
      } else if (kind == "system_command") {
        SystemCommand cmd;
        err = parse_system_command(payload.data(), payload.size(), g_doc, cmd);
      } else {
        err = validate_payload(pk, payload.data(), payload.size(), g_doc);
      }
    }
    if (ok) {
      CHECK_MESSAGE(err.ok(), name, ": ", error_name(err.code), " at ", err.path);
      if (err.ok()) check_accepted_fields(kind, payload, value_of(v));
    } else {
      CHECK(std::string(error_name(err.code)) == json_str(expect, "error"));
      CHECK(std::string(err.path) == json_str(expect, "path"));
    }
    checked++;
  }
  MESSAGE("payload vectors checked: " << checked);
  CHECK(checked > 50);
  cJSON_Delete(root);
}

TEST_CASE("topic vectors") {
  cJSON *root = load_vectors("tests/vectors/protocol/topics.json");
  REQUIRE(root != nullptr);
  const cJSON *v;
  int checked = 0;
  cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "vectors")) {
    std::string topic = json_str(v, "topic");
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(v, "expect");
    CAPTURE(topic);
    Topic t;
    ErrorCode code = parse_topic(topic.data(), topic.size(), t);
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "ok"))) {
      REQUIRE(code == ErrorCode::kOk);
      CHECK(std::string(topic_kind_name(t.kind)) == json_str(expect, "kind"));
      CHECK(std::string(t.kaiser_id) == json_str(expect, "kaiser_id"));
      CHECK(std::string(t.esp_id) == json_str(expect, "esp_id"));
      const cJSON *gpio = cJSON_GetObjectItemCaseSensitive(expect, "gpio");
      CHECK(t.gpio == (cJSON_IsNumber(gpio) ? gpio->valueint : -1));
      // Building the topic back gives the same string.
      char built[kTopicCap];
      if (t.kind == TopicKind::kEmergency) {
        CHECK(build_emergency_topic(built, sizeof(built), t.kaiser_id));
      } else {
        CHECK(build_topic(built, sizeof(built), t.kaiser_id, t.esp_id, t.kind, t.gpio));
      }
      CHECK(std::string(built) == topic);
    } else {
      CHECK(std::string(error_name(code)) == json_str(expect, "error"));
    }
    checked++;
  }
  CHECK(checked > 20);
  cJSON_Delete(root);
}

TEST_CASE("topic builder refuses invalid ids and pins") {
  char buf[kTopicCap];
  CHECK_FALSE(build_topic(buf, sizeof(buf), "god", "esp+1", TopicKind::kAnnounce));
  CHECK_FALSE(build_topic(buf, sizeof(buf), "g/d", "esp1", TopicKind::kAnnounce));
  CHECK_FALSE(build_topic(buf, sizeof(buf), "god", "esp1", TopicKind::kSensorData));      // needs a gpio
  CHECK_FALSE(build_topic(buf, sizeof(buf), "god", "esp1", TopicKind::kAnnounce, 5));     // takes none
  CHECK_FALSE(build_topic(buf, sizeof(buf), "god", "esp1", TopicKind::kSensorData, 64));  // out of range
  CHECK_FALSE(build_topic(buf, 10, "god", "esp1", TopicKind::kAnnounce));                 // does not fit
  CHECK(build_topic(buf, sizeof(buf), "god", "esp1", TopicKind::kActuatorCommand, 5));
  CHECK(std::string(buf) == "kaiser/god/esp/esp1/actuator/5/command");
}

TEST_CASE("json edge cases") {
  const char *escaped = "{\"v\":1,\"action\":\"stop\",\"reason\":\"\\u00e9\\ud83d\\ude00\\n\"}";
  CHECK(validate_payload(PayloadKind::kEmergency, escaped, strlen(escaped), g_doc).ok());
  CHECK(std::string(g_doc.str(g_doc.find(0, "reason"))) == "\xC3\xA9\xF0\x9F\x98\x80\n");
  const char *deep = "{\"v\":1,\"action\":\"stop\",\"x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]}";
  CHECK(validate_payload(PayloadKind::kEmergency, deep, strlen(deep), g_doc).ok());
  // Raw UTF-8 must be well formed (as Python's decoder wants it): truncated, overlong, an
  // encoded surrogate, above U+10FFFF, a stray continuation byte.
  const char *const kBadUtf8[] = {"\xC3", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80", "\xF8\x88\x80\x80\x80"};
  for (const char *bad : kBadUtf8) {
    std::string p = std::string("{\"v\":1,\"action\":\"stop\",\"reason\":\"") + bad + "\"}";
    CAPTURE(p);
    CHECK(validate_payload(PayloadKind::kEmergency, p.data(), p.size(), g_doc).code == ErrorCode::kMalformedJson);
  }
  const char *good_utf8 = "{\"v\":1,\"action\":\"stop\",\"reason\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}";
  CHECK(validate_payload(PayloadKind::kEmergency, good_utf8, strlen(good_utf8), g_doc).ok());
  const char *trailing = "{\"v\":1,\"action\":\"stop\"} x";
  CHECK(validate_payload(PayloadKind::kEmergency, trailing, strlen(trailing), g_doc).code == ErrorCode::kMalformedJson);
  const char *neg_inf = "{\"v\":1,\"action\":-Infinity}";
  CHECK(validate_payload(PayloadKind::kEmergency, neg_inf, strlen(neg_inf), g_doc).code == ErrorCode::kNotFinite);
  const char *v_null = "{\"v\":null}";
  CHECK(validate_payload(PayloadKind::kEmergency, v_null, strlen(v_null), g_doc).code == ErrorCode::kMissingField);
  const char *v_float = "{\"v\":1.0,\"action\":\"clear\"}";
  CHECK(validate_payload(PayloadKind::kEmergency, v_float, strlen(v_float), g_doc).ok());
}
