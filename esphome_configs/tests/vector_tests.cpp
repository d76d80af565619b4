#include "vector_tests.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "check.h"
#include "esphome/components/automationone/protocol.h"
#include "esphome/components/automationone/safety.h"

using namespace esphome::automationone;

namespace ao_test {

bool read_file(const std::string &path, std::string &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return false;
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

static bool load(const std::string &path, JsonValue &doc) {
  std::string text;
  if (!check(read_file(path, text), "read " + path))
    return false;
  JsonError err;
  doc = json_parse(text, err, 64);
  return check(err == JsonError::NONE && doc.is_object() && doc.has("vectors"), "parse " + path);
}

static std::string str(const JsonValue *v) { return v != nullptr && v->is_string() ? v->as_string() : ""; }

void run_topic_vectors(const std::string &dir) {
  JsonValue doc;
  if (!load(dir + "/protocol/topics.json", doc))
    return;
  int n = 0;
  for (const auto &vec : doc.get("vectors")->items()) {
    const std::string topic = str(vec.get("topic"));
    const JsonValue &expect = *vec.get("expect");
    Topic parsed;
    ProtoError error;
    bool ok = parse_topic(topic, parsed, error);
    std::string what = "topic " + topic;
    if (!check(ok == expect.get("ok")->as_bool(), what + ": ok"))
      continue;
    n++;
    if (!ok) {
      check(error_code_str(error.code) == str(expect.get("error")), what + ": error " + error_code_str(error.code));
      continue;
    }
    check(topic_kind_str(parsed.kind) == str(expect.get("kind")), what + ": kind");
    check(parsed.kaiser_id == str(expect.get("kaiser_id")), what + ": kaiser_id");
    check(parsed.esp_id == str(expect.get("esp_id")), what + ": esp_id");
    const JsonValue *gpio = expect.get("gpio");
    check((gpio->is_null() ? -1 : gpio->as_int()) == parsed.gpio, what + ": gpio");
    // Building the topic back gives the same string.
    if (parsed.kind == TopicKind::EMERGENCY) {
      check(emergency_topic(parsed.kaiser_id) == topic, what + ": build");
    } else {
      check(device_topic(parsed.kaiser_id, parsed.esp_id, parsed.kind, parsed.gpio) == topic, what + ": build");
    }
  }
  printf("topic vectors: %d run\n", n);
}

// The typed parser of a kind the device receives must agree with the generic one.
static bool typed_parse(PayloadKind kind, const std::string &payload, ProtoError &error, bool &has_typed) {
  has_typed = true;
  switch (kind) {
    case PayloadKind::ACTUATOR_COMMAND: {
      ActuatorCommand c;
      return parse_actuator_command(payload, c, error);
    }
    case PayloadKind::CONFIG: {
      DeviceConfig c;
      return parse_config(payload, c, error);
    }
    case PayloadKind::SYSTEM_COMMAND: {
      SystemCommand c;
      return parse_system_command(payload, c, error);
    }
    case PayloadKind::EMERGENCY: {
      Emergency c;
      return parse_emergency(payload, c, error);
    }
    case PayloadKind::PROCESSED: {
      Processed c;
      return parse_processed(payload, c, error);
    }
    default:
      has_typed = false;
      return false;
  }
}

void run_payload_vectors(const std::string &dir) {
  JsonValue doc;
  if (!load(dir + "/protocol/payloads.json", doc))
    return;
  int n = 0, typed = 0;
  for (const auto &vec : doc.get("vectors")->items()) {
    const std::string name = str(vec.get("name"));
    const std::string kind_name = str(vec.get("kind"));
    const std::string payload = str(vec.get("payload"));
    const JsonValue &expect = *vec.get("expect");
    bool want_ok = expect.get("ok")->as_bool();
    std::string what = "payload '" + name + "'";
    ProtoError error;
    n++;
    if (kind_name == "status") {
      bool online;
      bool ok = parse_status(payload, online, error);
      if (check(ok == want_ok, what + ": ok") && !ok) {
        check(error_code_str(error.code) == str(expect.get("error")), what + ": error");
        check(error.path == str(expect.get("path")), what + ": path");
      }
      continue;
    }
    PayloadKind kind;
    if (!check(payload_kind_from_str(kind_name, kind), what + ": kind " + kind_name))
      continue;
    JsonValue value;
    bool ok = parse_payload(kind, payload, value, error);
    if (!check(ok == want_ok, what + ": ok (got " + error_code_str(error.code) + " at '" + error.path + "')"))
      continue;
    if (ok) {
      check(value.equals(*expect.get("value")), what + ": value " + value.dump());
    } else {
      check(error_code_str(error.code) == str(expect.get("error")),
            what + ": error " + error_code_str(error.code) + " want " + str(expect.get("error")));
      check(error.path == str(expect.get("path")), what + ": path '" + error.path + "' want '" + str(expect.get("path")) + "'");
    }
    bool has_typed;
    ProtoError typed_error;
    bool typed_ok = typed_parse(kind, payload, typed_error, has_typed);
    if (has_typed) {
      typed++;
      check(typed_ok == ok && typed_error.code == error.code && typed_error.path == error.path, what + ": typed parser");
    }
  }
  printf("payload vectors: %d run (%d also through the typed parsers)\n", n, typed);
}

static int64_t iget(const JsonValue &obj, const char *key, int64_t fallback = -1) {
  const JsonValue *v = obj.get(key);
  return v != nullptr ? v->as_int() : fallback;
}

static int bget(const JsonValue &obj, const char *key) {
  const JsonValue *v = obj.get(key);
  return v != nullptr ? (v->as_bool() ? 1 : 0) : -1;
}

// What the device would publish, built from the accepted vectors' values, must equal them.
void run_builder_vectors(const std::string &dir) {
  JsonValue doc;
  if (!load(dir + "/protocol/payloads.json", doc))
    return;
  int n = 0;
  for (const auto &vec : doc.get("vectors")->items()) {
    const JsonValue &expect = *vec.get("expect");
    if (!expect.get("ok")->as_bool())
      continue;
    const std::string kind_name = str(vec.get("kind"));
    const JsonValue &v = *expect.get("value");
    std::string built;
    PayloadKind kind;
    if (kind_name == "announce") {
      AnnounceInfo info;
      info.esp_id = str(v.get("esp_id"));
      info.kaiser_id = str(v.get("kaiser_id"));
      info.name = str(v.get("name"));
      info.board = str(v.get("board"));
      info.fw = str(v.get("fw"));
      info.fw_version = str(v.get("fw_version"));
      info.mac = str(v.get("mac"));
      if (const JsonValue *caps = v.get("caps")) {
        info.sensors = static_cast<int>(iget(*caps, "sensors"));
        info.actuators = static_cast<int>(iget(*caps, "actuators"));
        info.batch = bget(*caps, "batch");
        info.buffer = static_cast<int>(iget(*caps, "buffer"));
        info.on_device = bget(*caps, "on_device");
      }
      built = build_announce(info);
      kind = PayloadKind::ANNOUNCE;
    } else if (kind_name == "heartbeat") {
      HeartbeatInfo info;
      info.uptime_s = static_cast<uint32_t>(iget(v, "uptime_s"));
      info.heap_free = static_cast<uint32_t>(iget(v, "heap_free"));
      info.rssi = static_cast<int>(iget(v, "rssi"));
      info.heap_min = iget(v, "heap_min");
      info.config_version = iget(v, "config_version");
      info.buffered = iget(v, "buffered");
      info.ts = iget(v, "ts");
      built = build_heartbeat(info);
      kind = PayloadKind::HEARTBEAT;
    } else if (kind_name == "sensor_data") {
      Reading r;
      r.seq = static_cast<uint32_t>(iget(v, "seq"));
      r.ts = iget(v, "ts");
      r.replay = bget(v, "replay") == 1;
      if (const JsonValue *raw = v.get("raw")) {
        if (raw->is_array()) {
          for (const auto &w : raw->items())
            r.words.push_back(static_cast<uint16_t>(w.as_int()));
        } else {
          r.raw = raw->as_double();
        }
      } else {
        r.processed = true;
        r.value = v.get("value")->as_double();
        r.unit = str(v.get("unit"));
      }
      r.quality = str(v.get("quality"));
      r.addr = str(v.get("addr"));
      built = build_sensor_data(r);
      kind = PayloadKind::SENSOR_DATA;
    } else if (kind_name == "actuator_status") {
      ActuatorStatusInfo info;
      info.state = v.get("state")->as_bool();
      info.value = static_cast<uint8_t>(iget(v, "value"));
      std::string reason = str(v.get("reason"));
      std::string refused = str(v.get("refused"));
      info.reason = reason.c_str();
      info.refused = refused.empty() ? nullptr : refused.c_str();
      info.until_s = v.has("until_s") ? v.get("until_s")->as_double() : -1.0;
      info.cmd_id = str(v.get("cmd_id"));
      info.runtime_s = v.has("runtime_s") ? v.get("runtime_s")->as_double() : -1.0;
      info.activations = iget(v, "activations");
      info.ts = iget(v, "ts");
      built = build_actuator_status(info);
      kind = PayloadKind::ACTUATOR_STATUS;
    } else if (kind_name == "config_ack") {
      std::vector<PinResult> results;
      for (const auto &r : v.get("results")->items()) {
        PinResult pr;
        pr.sensor = str(r.get("kind")) == "sensor";
        pr.gpio = static_cast<int>(iget(r, "gpio"));
        pr.ok = r.get("ok")->as_bool();
        pr.error = str(r.get("error"));
        pr.addr = str(r.get("addr"));
        results.push_back(pr);
      }
      built = build_config_ack(static_cast<uint32_t>(iget(v, "version")), results);
      kind = PayloadKind::CONFIG_ACK;
      // The builder derives `ok` from the results; the vectors are consistent with that.
    } else {
      continue;
    }
    n++;
    JsonValue reparsed;
    ProtoError error;
    std::string what = "build '" + str(vec.get("name")) + "'";
    if (check(parse_payload(kind, built, reparsed, error), what + ": parses (" + error_code_str(error.code) + " " + error.path + ") " + built))
      check(reparsed.equals(v), what + ": equals the vector: " + built);
  }
  printf("builder vectors: %d built and compared\n", n);
}

static ActuatorLimits limits_from(const JsonValue &a) {
  ActuatorLimits l;
  l.pwm = str(a.get("type")) == "pwm";
  l.inverted = bget(a, "inverted") == 1;
  l.safe_state = static_cast<uint8_t>(iget(a, "safe_state", 0));
  l.max_runtime_s = static_cast<uint32_t>(iget(a, "max_runtime_s", 0));
  l.cooldown_s = static_cast<uint32_t>(iget(a, "cooldown_s", 0));
  l.max_per_hour = static_cast<uint32_t>(iget(a, "max_per_hour", 0));
  l.failsafe_s = static_cast<uint32_t>(iget(a, "failsafe_s", 0));
  return l;
}

void run_timeline_vectors(const std::string &dir) {
  std::string path = dir + "/safety/timelines.json";
  std::string text;
  if (!read_file(path, text)) {
    printf("safety timelines: %s not present, skipped\n", path.c_str());
    return;
  }
  JsonValue doc;
  if (!load(path, doc))
    return;
  int vectors = 0, steps = 0;
  for (const auto &vec : doc.get("vectors")->items()) {
    vectors++;
    const std::string name = str(vec.get("name"));
    const JsonValue &act = *vec.get("actuator");
    // The actuator entry must itself be a valid config entry.
    std::string cfg = "{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[" + act.dump() + "]}";
    DeviceConfig dc;
    ProtoError cerr;
    check(parse_config(cfg, dc, cerr), "timeline '" + name + "': actuator is a valid config entry");
    SafetyBank bank;
    int gpio = static_cast<int>(iget(act, "gpio"));
    bank.add(gpio, limits_from(act));
    bank.boot(0);
    for (const auto &step : vec.get("steps")->items()) {
      steps++;
      uint64_t t = static_cast<uint64_t>(std::llround(step.get("t")->as_double() * 1000.0));
      std::string what = "timeline '" + name + "' t=" + step.get("t")->dump();
      if (const JsonValue *cmd = step.get("command")) {
        ActuatorCommand c;
        ProtoError error;
        if (!check(parse_actuator_command(cmd->dump(), c, error), what + ": command parses"))
          continue;
        CommandOutcome out = bank.command(gpio, c, t);
        const JsonValue *refused = step.get("refused");
        if (refused == nullptr || refused->is_null()) {
          check(out.accepted, what + ": accepted (refused " + (refusal_str(out.refused) ? refusal_str(out.refused) : "") + ")");
        } else {
          check(!out.accepted && refusal_str(out.refused) != nullptr && refused->as_string() == refusal_str(out.refused),
                what + ": refused " + refused->as_string());
          if (const JsonValue *until = step.get("until_s"))
            check(std::fabs(until->as_double() - out.until_s) < 1e-6,
                  what + ": until_s " + std::to_string(out.until_s) + " want " + until->dump());
        }
      } else if (const JsonValue *link = step.get("link")) {
        bank.link(link->as_string() == "up", t);
      } else if (const JsonValue *em = step.get("emergency")) {
        bank.emergency(em->as_string() == "stop", t);
      } else if (const JsonValue *expect = step.get("expect")) {
        bank.tick(t);
        Actuator *a = bank.find(gpio);
        check(a->state() == expect->get("state")->as_bool(), what + ": state");
        check(a->value() == iget(*expect, "value"), what + ": value " + std::to_string(a->value()));
        check(std::string(reason_str(a->reason())) == str(expect->get("reason")),
              what + ": reason " + reason_str(a->reason()) + " want " + str(expect->get("reason")));
        if (expect->has("activations"))
          check(a->activations() == iget(*expect, "activations"), what + ": activations " + std::to_string(a->activations()));
      } else {
        check(false, what + ": unknown step " + step.dump());
      }
    }
  }
  printf("safety timelines: %d vectors, %d steps run\n", vectors, steps);
}

}  // namespace ao_test
