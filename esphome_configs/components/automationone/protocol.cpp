#include "protocol.h"

#include <cstring>

#include "schemas_data.h"

namespace esphome {
namespace automationone {

// --- topics ------------------------------------------------------------------------------------

const char *topic_kind_str(TopicKind kind) {
  switch (kind) {
    case TopicKind::ANNOUNCE:
      return "announce";
    case TopicKind::STATUS:
      return "status";
    case TopicKind::HEARTBEAT:
      return "heartbeat";
    case TopicKind::CONFIG:
      return "config";
    case TopicKind::CONFIG_ACK:
      return "config/ack";
    case TopicKind::SENSOR_DATA:
      return "sensor/data";
    case TopicKind::SENSOR_BATCH:
      return "sensor/batch";
    case TopicKind::PROCESSED:
      return "sensor/processed";
    case TopicKind::ACTUATOR_COMMAND:
      return "actuator/command";
    case TopicKind::ACTUATOR_STATUS:
      return "actuator/status";
    case TopicKind::SYSTEM_COMMAND:
      return "system/command";
    case TopicKind::EMERGENCY:
      return "broadcast/emergency";
    case TopicKind::DEVICE_EMERGENCY:
      return "emergency";
  }
  return "";
}

static bool is_per_gpio(TopicKind kind) {
  return kind == TopicKind::SENSOR_DATA || kind == TopicKind::PROCESSED || kind == TopicKind::ACTUATOR_COMMAND ||
         kind == TopicKind::ACTUATOR_STATUS;
}

bool valid_id(const std::string &id) {
  if (id.empty() || id.size() > 32)
    return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

static bool topic_fail(ProtoError &error, ErrorCode code, const char *path) {
  error.code = code;
  error.path = path;
  return false;
}

// Canonical decimal 0-63: no sign, no leading zero, no spaces.
static int parse_gpio(const std::string &text) {
  if (text.empty() || text.size() > 2)
    return -1;
  for (char c : text) {
    if (c < '0' || c > '9')
      return -1;
  }
  if (text.size() == 2 && text[0] == '0')
    return -1;
  int value = std::stoi(text);
  return value <= MAX_GPIO ? value : -1;
}

bool parse_topic(const std::string &topic, Topic &out, ProtoError &error) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = topic.find('/', start);
    parts.push_back(topic.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  error = ProtoError();
  if (parts.size() < 3 || parts[0] != "kaiser")
    return topic_fail(error, ErrorCode::UNKNOWN_TOPIC, "topic");
  if (!valid_id(parts[1]))
    return topic_fail(error, ErrorCode::INVALID_ID, "kaiser_id");
  out = Topic();
  out.kaiser_id = parts[1];
  if (parts.size() == 4 && parts[2] == "broadcast" && parts[3] == "emergency") {
    out.kind = TopicKind::EMERGENCY;
    return true;
  }
  if (parts.size() < 5 || parts[2] != "esp")
    return topic_fail(error, ErrorCode::UNKNOWN_TOPIC, "topic");
  if (!valid_id(parts[3]))
    return topic_fail(error, ErrorCode::INVALID_ID, "esp_id");
  out.esp_id = parts[3];
  size_t tail = parts.size() - 4;
  if (tail == 3) {
    const std::string &group = parts[4];
    const std::string &leaf = parts[6];
    bool known = true;
    if (group == "sensor" && leaf == "data") {
      out.kind = TopicKind::SENSOR_DATA;
    } else if (group == "sensor" && leaf == "processed") {
      out.kind = TopicKind::PROCESSED;
    } else if (group == "actuator" && leaf == "command") {
      out.kind = TopicKind::ACTUATOR_COMMAND;
    } else if (group == "actuator" && leaf == "status") {
      out.kind = TopicKind::ACTUATOR_STATUS;
    } else {
      known = false;
    }
    if (known) {
      out.gpio = parse_gpio(parts[5]);
      if (out.gpio < 0)
        return topic_fail(error, ErrorCode::UNKNOWN_TOPIC, "gpio");
      return true;
    }
  }
  std::string rest = parts[4];
  for (size_t i = 5; i < parts.size(); i++)
    rest += "/" + parts[i];
  static const TopicKind DEVICE_WIDE[] = {TopicKind::ANNOUNCE,   TopicKind::STATUS,       TopicKind::HEARTBEAT,
                                          TopicKind::CONFIG,     TopicKind::CONFIG_ACK,   TopicKind::SENSOR_BATCH,
                                          TopicKind::SYSTEM_COMMAND, TopicKind::DEVICE_EMERGENCY};
  for (TopicKind kind : DEVICE_WIDE) {
    if (rest == topic_kind_str(kind)) {
      out.kind = kind;
      return true;
    }
  }
  return topic_fail(error, ErrorCode::UNKNOWN_TOPIC, "topic");
}

std::string device_topic(const std::string &kaiser_id, const std::string &esp_id, TopicKind kind, int gpio) {
  if (!valid_id(kaiser_id) || !valid_id(esp_id) || kind == TopicKind::EMERGENCY)
    return "";
  std::string base = "kaiser/" + kaiser_id + "/esp/" + esp_id + "/";
  if (!is_per_gpio(kind))
    return gpio == -1 ? base + topic_kind_str(kind) : "";
  if (gpio < 0 || gpio > MAX_GPIO)
    return "";
  std::string tail = topic_kind_str(kind);
  size_t slash = tail.find('/');
  return base + tail.substr(0, slash) + "/" + std::to_string(gpio) + tail.substr(slash);
}

std::string emergency_topic(const std::string &kaiser_id) {
  if (!valid_id(kaiser_id))
    return "";
  return "kaiser/" + kaiser_id + "/broadcast/emergency";
}

// --- payloads ------------------------------------------------------------------------------

struct KindInfo {
  PayloadKind kind;
  const char *name;
  const char *const *schema;
  size_t limit;
};

static const KindInfo KINDS[] = {
    {PayloadKind::ANNOUNCE, "announce", &SCHEMA_ANNOUNCE, MAX_PAYLOAD},
    {PayloadKind::HEARTBEAT, "heartbeat", &SCHEMA_HEARTBEAT, MAX_PAYLOAD},
    {PayloadKind::CONFIG, "config", &SCHEMA_CONFIG, MAX_LARGE_PAYLOAD},
    {PayloadKind::CONFIG_ACK, "config_ack", &SCHEMA_CONFIG_ACK, MAX_LARGE_PAYLOAD},
    {PayloadKind::SENSOR_DATA, "sensor_data", &SCHEMA_SENSOR_DATA, MAX_PAYLOAD},
    {PayloadKind::SENSOR_BATCH, "sensor_batch", &SCHEMA_SENSOR_BATCH, MAX_LARGE_PAYLOAD},
    {PayloadKind::PROCESSED, "processed", &SCHEMA_PROCESSED, MAX_PAYLOAD},
    {PayloadKind::ACTUATOR_COMMAND, "actuator_command", &SCHEMA_ACTUATOR_COMMAND, MAX_PAYLOAD},
    {PayloadKind::ACTUATOR_STATUS, "actuator_status", &SCHEMA_ACTUATOR_STATUS, MAX_PAYLOAD},
    {PayloadKind::SYSTEM_COMMAND, "system_command", &SCHEMA_SYSTEM_COMMAND, MAX_PAYLOAD},
    {PayloadKind::EMERGENCY, "emergency", &SCHEMA_EMERGENCY, MAX_PAYLOAD},
};
static const size_t KIND_COUNT = sizeof(KINDS) / sizeof(KINDS[0]);

bool payload_kind_from_str(const std::string &name, PayloadKind &out) {
  for (const auto &info : KINDS) {
    if (name == info.name) {
      out = info.kind;
      return true;
    }
  }
  return false;
}

size_t payload_limit(PayloadKind kind) { return KINDS[static_cast<size_t>(kind)].limit; }

// Compiled once, on first use of a kind.
static const SchemaValidator &validator(PayloadKind kind) {
  static SchemaValidator *validators[KIND_COUNT] = {};
  size_t i = static_cast<size_t>(kind);
  if (validators[i] == nullptr)
    validators[i] = new SchemaValidator(*KINDS[i].schema);  // NOLINT: lives for the program
  return *validators[i];
}

static bool payload_fail(ProtoError &error, ErrorCode code, const char *path) {
  error.code = code;
  error.path = path;
  return false;
}

// Nesting deeper than this is refused as malformed_json (bounded stack on the device).
static const int MAX_DEPTH = 32;

bool parse_payload(PayloadKind kind, const std::string &payload, JsonValue &out, ProtoError &error) {
  error = ProtoError();
  if (payload.size() > payload_limit(kind))
    return payload_fail(error, ErrorCode::TOO_LARGE, "");
  JsonError json_error;
  JsonValue doc = json_parse(payload, json_error, MAX_DEPTH);
  if (json_error == JsonError::MALFORMED)
    return payload_fail(error, ErrorCode::MALFORMED_JSON, "");
  if (json_error == JsonError::NOT_FINITE)
    return payload_fail(error, ErrorCode::NOT_FINITE, "");
  if (!doc.is_object())
    return payload_fail(error, ErrorCode::NOT_OBJECT, "");
  const JsonValue *v = doc.get("v");
  if (v == nullptr || v->is_null())
    return payload_fail(error, ErrorCode::MISSING_FIELD, "v");
  if (!v->is_number() || v->as_double() != PROTOCOL_VERSION)
    return payload_fail(error, ErrorCode::UNSUPPORTED_VERSION, "v");
  if (!validator(kind).validate(doc, out, error))
    return false;
  // Rules beyond the schemas (docs/protocol.md).
  if (kind == PayloadKind::ACTUATOR_COMMAND) {
    const std::string &action = out.get("action")->as_string();
    if (action == "set" && !out.has("value"))
      return payload_fail(error, ErrorCode::MISSING_FIELD, "value");
    if (action == "pulse" && !out.has("duration_s"))
      return payload_fail(error, ErrorCode::MISSING_FIELD, "duration_s");
  }
  if (kind == PayloadKind::SYSTEM_COMMAND && out.get("cmd")->as_string() == "ota" && !out.has("url"))
    return payload_fail(error, ErrorCode::MISSING_FIELD, "url");
  return true;
}

bool parse_announce_for(const Topic &topic, const std::string &payload, JsonValue &out, ProtoError &error) {
  if (!parse_payload(PayloadKind::ANNOUNCE, payload, out, error))
    return false;
  if (out.get("esp_id")->as_string() != topic.esp_id)
    return payload_fail(error, ErrorCode::ID_MISMATCH, "esp_id");
  const JsonValue *kaiser = out.get("kaiser_id");
  if (kaiser != nullptr && kaiser->as_string() != topic.kaiser_id)
    return payload_fail(error, ErrorCode::ID_MISMATCH, "kaiser_id");
  return true;
}

bool parse_status(const std::string &payload, bool &online, ProtoError &error) {
  error = ProtoError();
  if (payload == "online") {
    online = true;
    return true;
  }
  if (payload == "offline") {
    online = false;
    return true;
  }
  return payload_fail(error, ErrorCode::BAD_VALUE, "");
}

// --- typed views -----------------------------------------------------------------------------

static std::string str_or(const JsonValue &obj, const char *key, const char *fallback = "") {
  const JsonValue *v = obj.get(key);
  return v != nullptr ? v->as_string() : std::string(fallback);
}

static int64_t int_or(const JsonValue &obj, const char *key, int64_t fallback) {
  const JsonValue *v = obj.get(key);
  return v != nullptr ? v->as_int() : fallback;
}

bool parse_actuator_command(const std::string &payload, ActuatorCommand &out, ProtoError &error) {
  JsonValue d;
  if (!parse_payload(PayloadKind::ACTUATOR_COMMAND, payload, d, error))
    return false;
  out = ActuatorCommand();
  const std::string &action = d.get("action")->as_string();
  if (action == "on") {
    out.action = Action::ON;
  } else if (action == "off") {
    out.action = Action::OFF;
  } else if (action == "set") {
    out.action = Action::SET;
  } else {
    out.action = Action::PULSE;
  }
  if (const JsonValue *v = d.get("value")) {
    out.has_value = true;
    out.value = static_cast<int>(v->as_int());
  }
  if (const JsonValue *v = d.get("duration_s")) {
    out.has_duration = true;
    out.duration_s = v->as_double();
  }
  out.cmd_id = str_or(d, "cmd_id");
  out.source = str_or(d, "source");
  return true;
}

bool parse_config(const std::string &payload, DeviceConfig &out, ProtoError &error) {
  JsonValue d;
  if (!parse_payload(PayloadKind::CONFIG, payload, d, error))
    return false;
  out = DeviceConfig();
  out.version = static_cast<uint32_t>(d.get("version")->as_int());
  out.heartbeat_s = static_cast<uint32_t>(int_or(d, "heartbeat_s", 0));
  for (const auto &s : d.get("sensors")->items()) {
    SensorConfig sc;
    sc.gpio = static_cast<int>(s.get("gpio")->as_int());
    sc.type = s.get("type")->as_string();
    sc.interval_ms = static_cast<uint32_t>(s.get("interval_ms")->as_int());
    sc.mode = str_or(s, "mode", "raw");
    sc.addr = str_or(s, "addr");
    sc.scl = static_cast<int>(int_or(s, "scl", -1));
    out.sensors.push_back(std::move(sc));
  }
  for (const auto &a : d.get("actuators")->items()) {
    ActuatorConfig ac;
    ac.gpio = static_cast<int>(a.get("gpio")->as_int());
    ac.type = a.get("type")->as_string();
    const JsonValue *inv = a.get("inverted");
    ac.inverted = inv != nullptr && inv->as_bool();
    ac.safe_state = static_cast<uint8_t>(int_or(a, "safe_state", 0));
    ac.max_runtime_s = static_cast<uint32_t>(int_or(a, "max_runtime_s", 0));
    ac.cooldown_s = static_cast<uint32_t>(int_or(a, "cooldown_s", 0));
    ac.max_per_hour = static_cast<uint32_t>(int_or(a, "max_per_hour", 0));
    ac.failsafe_s = static_cast<uint32_t>(int_or(a, "failsafe_s", 0));
    out.actuators.push_back(std::move(ac));
  }
  return true;
}

bool parse_system_command(const std::string &payload, SystemCommand &out, ProtoError &error) {
  JsonValue d;
  if (!parse_payload(PayloadKind::SYSTEM_COMMAND, payload, d, error))
    return false;
  out = SystemCommand();
  const std::string &cmd = d.get("cmd")->as_string();
  if (cmd == "restart") {
    out.cmd = SystemCmd::RESTART;
  } else if (cmd == "factory_reset") {
    out.cmd = SystemCmd::FACTORY_RESET;
  } else if (cmd == "ota") {
    out.cmd = SystemCmd::OTA;
  } else {
    out.cmd = SystemCmd::IDENTIFY;
  }
  out.url = str_or(d, "url");
  out.cmd_id = str_or(d, "cmd_id");
  return true;
}

bool parse_emergency(const std::string &payload, Emergency &out, ProtoError &error) {
  JsonValue d;
  if (!parse_payload(PayloadKind::EMERGENCY, payload, d, error))
    return false;
  out = Emergency();
  out.stop = d.get("action")->as_string() == "stop";
  out.reason = str_or(d, "reason");
  return true;
}

bool parse_processed(const std::string &payload, Processed &out, ProtoError &error) {
  JsonValue d;
  if (!parse_payload(PayloadKind::PROCESSED, payload, d, error))
    return false;
  out = Processed();
  out.value = d.get("value")->as_double();
  out.unit = d.get("unit")->as_string();
  out.quality = d.get("quality")->as_string();
  if (const JsonValue *seq = d.get("seq")) {
    out.has_seq = true;
    out.seq = static_cast<uint32_t>(seq->as_int());
  }
  out.addr = str_or(d, "addr");
  return true;
}

// --- builders --------------------------------------------------------------------------------

static JsonValue head() {
  JsonValue obj = JsonValue::object();
  obj.set("v", JsonValue::integer(PROTOCOL_VERSION));
  return obj;
}

static JsonValue num(double d) { return JsonValue::number(d, false); }

std::string build_announce(const AnnounceInfo &info) {
  JsonValue obj = head();
  obj.set("esp_id", JsonValue::string(info.esp_id));
  if (!info.kaiser_id.empty())
    obj.set("kaiser_id", JsonValue::string(info.kaiser_id));
  if (!info.name.empty())
    obj.set("name", JsonValue::string(info.name));
  obj.set("board", JsonValue::string(info.board));
  obj.set("fw", JsonValue::string(info.fw));
  obj.set("fw_version", JsonValue::string(info.fw_version));
  obj.set("mac", JsonValue::string(info.mac));
  JsonValue caps = JsonValue::object();
  if (info.sensors >= 0)
    caps.set("sensors", JsonValue::integer(info.sensors));
  if (info.actuators >= 0)
    caps.set("actuators", JsonValue::integer(info.actuators));
  if (info.batch >= 0)
    caps.set("batch", JsonValue::boolean(info.batch != 0));
  if (info.buffer >= 0)
    caps.set("buffer", JsonValue::integer(info.buffer));
  if (info.on_device >= 0)
    caps.set("on_device", JsonValue::boolean(info.on_device != 0));
  if (!caps.members().empty())
    obj.set("caps", std::move(caps));
  return obj.dump();
}

std::string build_heartbeat(const HeartbeatInfo &info) {
  JsonValue obj = head();
  obj.set("uptime_s", JsonValue::integer(info.uptime_s));
  obj.set("heap_free", JsonValue::integer(info.heap_free));
  obj.set("rssi", JsonValue::integer(info.rssi));
  if (info.heap_min >= 0)
    obj.set("heap_min", JsonValue::integer(info.heap_min));
  if (info.config_version >= 0)
    obj.set("config_version", JsonValue::integer(info.config_version));
  if (info.buffered >= 0)
    obj.set("buffered", JsonValue::integer(info.buffered));
  if (info.ts >= 0)
    obj.set("ts", JsonValue::integer(info.ts));
  return obj.dump();
}

std::string build_sensor_data(const Reading &reading) {
  JsonValue obj = head();
  obj.set("seq", JsonValue::integer(reading.seq));
  if (reading.ts >= 0)
    obj.set("ts", JsonValue::integer(reading.ts));
  if (reading.processed) {
    obj.set("value", num(reading.value));
    if (!reading.unit.empty())
      obj.set("unit", JsonValue::string(reading.unit));
  } else if (!reading.words.empty()) {
    JsonValue words = JsonValue::array();
    for (uint16_t w : reading.words)
      words.push(JsonValue::integer(w));
    obj.set("raw", std::move(words));
  } else {
    obj.set("raw", num(reading.raw));
  }
  if (!reading.quality.empty())
    obj.set("quality", JsonValue::string(reading.quality));
  if (!reading.addr.empty())
    obj.set("addr", JsonValue::string(reading.addr));
  if (reading.replay)
    obj.set("replay", JsonValue::boolean(true));
  return obj.dump();
}

std::string build_actuator_status(const ActuatorStatusInfo &info) {
  JsonValue obj = head();
  obj.set("state", JsonValue::boolean(info.state));
  obj.set("value", JsonValue::integer(info.value));
  obj.set("reason", JsonValue::string(info.reason));
  if (info.refused != nullptr)
    obj.set("refused", JsonValue::string(info.refused));
  if (info.until_s >= 0)
    obj.set("until_s", num(info.until_s));
  if (!info.cmd_id.empty())
    obj.set("cmd_id", JsonValue::string(info.cmd_id));
  if (info.runtime_s >= 0)
    obj.set("runtime_s", num(info.runtime_s));
  if (info.activations >= 0)
    obj.set("activations", JsonValue::integer(info.activations));
  if (info.ts >= 0)
    obj.set("ts", JsonValue::integer(info.ts));
  return obj.dump();
}

std::string build_config_ack(uint32_t version, const std::vector<PinResult> &results) {
  JsonValue obj = head();
  obj.set("version", JsonValue::integer(version));
  bool all_ok = true;
  JsonValue list = JsonValue::array();
  for (const auto &r : results) {
    JsonValue item = JsonValue::object();
    item.set("kind", JsonValue::string(r.sensor ? "sensor" : "actuator"));
    item.set("gpio", JsonValue::integer(r.gpio));
    if (!r.addr.empty())
      item.set("addr", JsonValue::string(r.addr));
    item.set("ok", JsonValue::boolean(r.ok));
    if (!r.ok) {
      all_ok = false;
      item.set("error", JsonValue::string(r.error));
    }
    list.push(std::move(item));
  }
  obj.set("ok", JsonValue::boolean(all_ok));
  obj.set("results", std::move(list));
  return obj.dump();
}

}  // namespace automationone
}  // namespace esphome
