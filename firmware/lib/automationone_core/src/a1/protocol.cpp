#include "a1/protocol.h"

#include <string.h>

namespace a1 {

namespace {

const char *const kErrorNames[] = {"ok",        "too_large",     "malformed_json", "not_finite",
                                   "not_object", "unsupported_version", "missing_field", "wrong_type",
                                   "out_of_range", "bad_value",   "invalid_id",     "unknown_topic",
                                   "id_mismatch"};

// ---- generated schema tables ----
enum TypeBits : uint8_t { kTObject = 1, kTArray = 2, kTString = 4, kTNumber = 8, kTInteger = 16, kTBool = 32 };
enum NodeFlags : uint8_t { kHasMin = 1, kHasMax = 2, kHasConst = 4 };
enum PatternKind : uint8_t { kPatNone, kPatClassRun, kPatBusAddr, kPatMac, kPatHttpUrl };

struct SchemaNode {
  double minimum, maximum, const_value;
  uint8_t types, flags, pattern;
  int16_t min_len, max_len, min_items, max_items, items;
  uint16_t props_first, props_count, req_first, req_count, oneof_first, oneof_count, enum_first, enum_count;
};
struct SchemaProp {
  const char *name;
  int16_t node;
};
struct SchemaPattern {
  PatternKind kind;
  const char *chars;
  uint16_t min, max;
};
struct KindInfo {
  const char *name;
  int16_t root;
  uint16_t limit;
};

// The generated tables need the types above. (ESPHome's esphome.h includes every header of a
// component, so the component's flat copy of the tables only expands where this is defined.)
#define A1_SCHEMA_TABLE_TYPES 1
#include "a1/generated/schema_tables.inc"

static_assert(sizeof(kKinds) / sizeof(kKinds[0]) == static_cast<size_t>(PayloadKind::kCount),
              "schema kinds and PayloadKind differ");

// A path with push/pop, bounded; a path that does not fit is truncated (never overflows).
class Path {
 public:
  size_t mark() const { return this->len_; }
  void reset(size_t m) {
    this->len_ = m;
    this->buf_[m] = '\0';
  }
  void key(const char *k) {
    if (this->len_ > 0) this->append(".");
    this->append(k);
  }
  void index(int i) {
    char tmp[8];
    int n = 0;
    char digits[6];
    int d = 0;
    do {
      digits[d++] = static_cast<char>('0' + i % 10);
      i /= 10;
    } while (i > 0 && d < 5);
    tmp[n++] = '[';
    while (d > 0) tmp[n++] = digits[--d];
    tmp[n++] = ']';
    tmp[n] = '\0';
    this->append(tmp);
  }
  void append(const char *s) {
    while (*s && this->len_ + 1 < sizeof(this->buf_)) this->buf_[this->len_++] = *s++;
    this->buf_[this->len_] = '\0';
  }
  const char *c_str() const { return this->buf_; }

 private:
  char buf_[64] = {0};
  size_t len_ = 0;
};

bool in_set(char c, const char *chars) {
  if (c == '\0') return false;
  return strchr(chars, c) != nullptr;
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
bool is_hex(char c) { return is_lower_hex(c) || (c >= 'A' && c <= 'F'); }

bool match_pattern(const SchemaPattern &p, const char *s, size_t len) {
  switch (p.kind) {
    case kPatNone:
      return true;
    case kPatClassRun: {
      if (len < p.min || len > p.max) return false;  // ASCII classes: bytes == code points
      for (size_t i = 0; i < len; i++) {
        if (!in_set(s[i], p.chars)) return false;
      }
      return true;
    }
    case kPatBusAddr: {
      if (len == 16) {
        for (size_t i = 0; i < 16; i++) {
          if (!is_lower_hex(s[i])) return false;
        }
        return true;
      }
      return len == 4 && s[0] == '0' && s[1] == 'x' && is_lower_hex(s[2]) && is_lower_hex(s[3]);
    }
    case kPatMac: {
      if (len != 17) return false;
      for (size_t i = 0; i < 17; i++) {
        if (i % 3 == 2 ? s[i] != ':' : !is_hex(s[i])) return false;
      }
      return true;
    }
    case kPatHttpUrl: {
      size_t skip = 0;
      if (len >= 7 && memcmp(s, "http://", 7) == 0) skip = 7;
      if (len >= 8 && memcmp(s, "https://", 8) == 0) skip = 8;
      if (skip == 0) return false;
      size_t n = utf8_length(s + skip, len - skip);
      if (n < 1 || n > 250) return false;
      for (size_t i = skip; i < len; i++) {
        uint8_t c = static_cast<uint8_t>(s[i]);
        if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return false;
        if (c == 0xC2 && i + 1 < len && (static_cast<uint8_t>(s[i + 1]) == 0x85 || static_cast<uint8_t>(s[i + 1]) == 0xA0)) return false;
      }
      return true;
    }
  }
  return false;
}

class Validator {
 public:
  Validator(const JsonDoc &doc, Error &err) : doc_(doc), err_(err) {}

  bool check(int tok, int node_index) {
    const SchemaNode &node = kSchemaNodes[node_index];
    const JTok &t = this->doc_.tok(tok);
    if (node.flags & kHasConst) {
      bool equal = (t.type == JType::kNumber && this->doc_.num(tok) == node.const_value) ||
                   (t.type == JType::kTrue && node.const_value == 1.0) ||
                   (t.type == JType::kFalse && node.const_value == 0.0);
      if (!equal) return this->fail(ErrorCode::kBadValue);
    }
    if (node.types != 0) {
      bool good;
      switch (t.type) {
        case JType::kObject:
          if (!(node.types & kTObject)) return this->fail(ErrorCode::kWrongType);
          good = this->check_object(tok, node);
          break;
        case JType::kArray:
          if (!(node.types & kTArray)) return this->fail(ErrorCode::kWrongType);
          good = this->check_array(tok, node);
          break;
        case JType::kString:
          if (!(node.types & kTString)) return this->fail(ErrorCode::kWrongType);
          good = this->check_string(tok, node);
          break;
        case JType::kNumber:
          if (!(node.types & (kTNumber | kTInteger))) return this->fail(ErrorCode::kWrongType);
          if ((node.types & kTInteger) && !(node.types & kTNumber) && !t.integral) {
            return this->fail(ErrorCode::kWrongType);
          }
          if ((node.flags & kHasMin) && this->doc_.num(tok) < node.minimum) return this->fail(ErrorCode::kOutOfRange);
          if ((node.flags & kHasMax) && this->doc_.num(tok) > node.maximum) return this->fail(ErrorCode::kOutOfRange);
          good = true;
          break;
        case JType::kTrue:
        case JType::kFalse:
          if (!(node.types & kTBool)) return this->fail(ErrorCode::kWrongType);
          good = true;
          break;
        default:
          return this->fail(ErrorCode::kWrongType);
      }
      if (!good) return false;
    }
    if (node.enum_count > 0) {
      bool found = false;
      for (uint16_t i = 0; i < node.enum_count && !found; i++) {
        found = this->doc_.str_eq(tok, kSchemaNames[node.enum_first + i]);
      }
      if (!found) return this->fail(ErrorCode::kBadValue);
    }
    return true;
  }

  Path path;

 private:
  bool fail(ErrorCode code) {
    this->err_.set(code, this->path.c_str());
    return false;
  }

  bool check_object(int tok, const SchemaNode &node) {
    size_t mark = this->path.mark();
    for (uint16_t i = 0; i < node.req_count; i++) {
      const char *name = kSchemaNames[node.req_first + i];
      if (this->doc_.find(tok, name) < 0) {
        this->path.key(name);
        return this->fail(ErrorCode::kMissingField);
      }
    }
    if (node.oneof_count > 0) {
      int present = 0;
      for (uint16_t i = 0; i < node.oneof_count; i++) {
        if (this->doc_.find(tok, kSchemaNames[node.oneof_first + i]) >= 0) present++;
      }
      if (present != 1) {
        char names[48] = {0};
        size_t n = 0;
        for (uint16_t i = 0; i < node.oneof_count; i++) {
          const char *s = kSchemaNames[node.oneof_first + i];
          if (i > 0 && n + 1 < sizeof(names)) names[n++] = '|';
          while (*s && n + 1 < sizeof(names)) names[n++] = *s++;
        }
        this->path.key(names);
        return this->fail(present == 0 ? ErrorCode::kMissingField : ErrorCode::kBadValue);
      }
    }
    // Fields in document order; unknown ones are ignored.
    const JTok &obj = this->doc_.tok(tok);
    int k = tok + 1;
    for (uint16_t n = 0; n < obj.count(); n++) {
      int v = k + 1;
      for (uint16_t p = 0; p < node.props_count; p++) {
        const SchemaProp &prop = kSchemaProps[node.props_first + p];
        if (this->doc_.str_eq(k, prop.name)) {
          this->path.key(prop.name);
          if (!this->check(v, prop.node)) return false;
          this->path.reset(mark);
          break;
        }
      }
      k = this->doc_.tok(v).next;
    }
    return true;
  }

  bool check_array(int tok, const SchemaNode &node) {
    const JTok &arr = this->doc_.tok(tok);
    if (node.min_items >= 0 && arr.count() < node.min_items) return this->fail(ErrorCode::kOutOfRange);
    if (node.max_items >= 0 && arr.count() > node.max_items) return this->fail(ErrorCode::kOutOfRange);
    if (node.items < 0) return true;
    size_t mark = this->path.mark();
    int k = tok + 1;
    for (uint16_t i = 0; i < arr.count(); i++) {
      this->path.index(i);
      if (!this->check(k, node.items)) return false;
      this->path.reset(mark);
      k = this->doc_.tok(k).next;
    }
    return true;
  }

  bool check_string(int tok, const SchemaNode &node) {
    const JTok &t = this->doc_.tok(tok);
    size_t n = utf8_length(this->doc_.str(tok), t.len);
    if (node.min_len >= 0 && n < static_cast<size_t>(node.min_len)) return this->fail(ErrorCode::kOutOfRange);
    if (node.max_len >= 0 && n > static_cast<size_t>(node.max_len)) return this->fail(ErrorCode::kOutOfRange);
    if (node.pattern != 0 && !match_pattern(kSchemaPatterns[node.pattern], this->doc_.str(tok), t.len)) {
      return this->fail(ErrorCode::kBadValue);
    }
    return true;
  }

  const JsonDoc &doc_;
  Error &err_;
};

void copy_str(char *dst, size_t cap, const JsonDoc &doc, int tok) {
  dst[0] = '\0';
  if (tok < 0 || doc.tok(tok).type != JType::kString) return;
  size_t n = doc.tok(tok).len;
  if (n >= cap) n = cap - 1;
  memcpy(dst, doc.str(tok), n);
  dst[n] = '\0';
}

double num_or(const JsonDoc &doc, int tok, double fallback) {
  return tok >= 0 && doc.tok(tok).type == JType::kNumber ? doc.num(tok) : fallback;
}

bool bool_or(const JsonDoc &doc, int tok, bool fallback) {
  if (tok < 0) return fallback;
  return doc.tok(tok).type == JType::kTrue;
}

// The schema has checked types, enums and array lengths (k <= 16, poly <= 8 numbers).
void parse_processing(const JsonDoc &doc, int proc, Processing &out) {
  out = Processing();
  if (proc < 0) return;
  int kind = doc.find(proc, "kind");
  proc_kind_from_name(doc.str(kind), doc.tok(kind).len, out.kind);
  int adc = doc.find(proc, "adc");
  if (adc >= 0) adc_model_from_name(doc.str(adc), doc.tok(adc).len, out.adc);
  int k = doc.find(proc, "k");
  for (int i = 0; k >= 0 && i < doc.tok(k).count() && i < Processing::kMaxK; i++) out.k[out.nk++] = doc.num(doc.item(k, i));
  int poly = doc.find(proc, "poly");
  for (int i = 0; poly >= 0 && i < doc.tok(poly).count() && i < Processing::kMaxPoly; i++) {
    out.poly[out.npoly++] = doc.num(doc.item(poly, i));
  }
  out.calibrated = bool_or(doc, doc.find(proc, "cal"), true);
  out.temp_gpio = static_cast<int8_t>(num_or(doc, doc.find(proc, "temp"), -1));
  copy_str(out.unit, sizeof(out.unit), doc, doc.find(proc, "unit"));
}

}  // namespace

const char *error_name(ErrorCode code) { return kErrorNames[static_cast<int>(code)]; }

void Error::set(ErrorCode c, const char *p) {
  this->code = c;
  size_t n = 0;
  for (; p[n] != '\0' && n + 1 < sizeof(this->path); n++) this->path[n] = p[n];
  this->path[n] = '\0';
}

bool payload_kind_from_name(const char *name, PayloadKind &out) {
  for (size_t i = 0; i < static_cast<size_t>(PayloadKind::kCount); i++) {
    if (strcmp(kKinds[i].name, name) == 0) {
      out = static_cast<PayloadKind>(i);
      return true;
    }
  }
  return false;
}

size_t payload_limit(PayloadKind kind) { return kKinds[static_cast<int>(kind)].limit; }

Error validate_payload(PayloadKind kind, const char *data, size_t len, JsonDoc &doc) {
  Error err;
  if (len > payload_limit(kind)) {
    err.set(ErrorCode::kTooLarge, "");
    return err;
  }
  switch (doc.parse(data, len)) {
    case JsonStatus::kOk:
      break;
    case JsonStatus::kMalformed:
      err.set(ErrorCode::kMalformedJson, "");
      return err;
    case JsonStatus::kNotFinite:
      err.set(ErrorCode::kNotFinite, "");
      return err;
    case JsonStatus::kTooLarge:
      err.set(ErrorCode::kTooLarge, "");
      return err;
  }
  if (doc.tok(0).type != JType::kObject) {
    err.set(ErrorCode::kNotObject, "");
    return err;
  }
  int v = doc.find(0, "v");
  if (v < 0 || doc.tok(v).type == JType::kNull) {
    err.set(ErrorCode::kMissingField, "v");
    return err;
  }
  if (doc.tok(v).type != JType::kNumber || doc.num(v) != 1.0) {
    err.set(ErrorCode::kUnsupportedVersion, "v");
    return err;
  }
  Validator validator(doc, err);
  validator.check(0, kKinds[static_cast<int>(kind)].root);
  return err;
}

// ---- topics ----

const char *topic_kind_name(TopicKind kind) {
  static const char *const kNames[] = {"announce",        "status",           "heartbeat",
                                       "config",          "config/ack",       "sensor/data",
                                       "sensor/batch",    "sensor/processed", "actuator/command",
                                       "actuator/status", "system/command",   "broadcast/emergency",
                                       "ota/status",      "emergency"};
  return kNames[static_cast<int>(kind)];
}

bool valid_id(const char *s, size_t len) {
  if (len < 1 || len > kMaxIdLen) return false;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!good) return false;
  }
  return true;
}

namespace {
struct Part {
  const char *s;
  size_t n;
  bool is(const char *lit) const { return strlen(lit) == this->n && memcmp(this->s, lit, this->n) == 0; }
};

bool parse_gpio(const Part &p, int &gpio) {
  if (p.n < 1 || p.n > 2) return false;
  if (p.n == 2 && p.s[0] == '0') return false;  // canonical decimal only
  int v = 0;
  for (size_t i = 0; i < p.n; i++) {
    if (p.s[i] < '0' || p.s[i] > '9') return false;
    v = v * 10 + (p.s[i] - '0');
  }
  if (v > kMaxGpio) return false;
  gpio = v;
  return true;
}

void copy_part(char *dst, const Part &p) {
  memcpy(dst, p.s, p.n);
  dst[p.n] = '\0';
}
}  // namespace

ErrorCode parse_topic(const char *topic, size_t len, Topic &out) {
  Part parts[8];
  size_t n = 0;
  size_t begin = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || topic[i] == '/') {
      if (n == 8) return ErrorCode::kUnknownTopic;
      parts[n++] = Part{topic + begin, i - begin};
      begin = i + 1;
    }
  }
  if (n < 3 || !parts[0].is("kaiser")) return ErrorCode::kUnknownTopic;
  if (!valid_id(parts[1].s, parts[1].n)) return ErrorCode::kInvalidId;
  copy_part(out.kaiser_id, parts[1]);
  out.esp_id[0] = '\0';
  out.gpio = -1;
  if (n == 4 && parts[2].is("broadcast") && parts[3].is("emergency")) {
    out.kind = TopicKind::kEmergency;
    return ErrorCode::kOk;
  }
  if (n < 5 || !parts[2].is("esp")) return ErrorCode::kUnknownTopic;
  if (!valid_id(parts[3].s, parts[3].n)) return ErrorCode::kInvalidId;
  copy_part(out.esp_id, parts[3]);
  const Part *tail = parts + 4;
  size_t tn = n - 4;
  if (tn == 3) {
    struct PerGpio {
      const char *group, *leaf;
      TopicKind kind;
    };
    static const PerGpio kPerGpio[] = {{"sensor", "data", TopicKind::kSensorData},
                                       {"sensor", "processed", TopicKind::kProcessed},
                                       {"actuator", "command", TopicKind::kActuatorCommand},
                                       {"actuator", "status", TopicKind::kActuatorStatus}};
    for (const PerGpio &pg : kPerGpio) {
      if (tail[0].is(pg.group) && tail[2].is(pg.leaf)) {
        if (!parse_gpio(tail[1], out.gpio)) return ErrorCode::kUnknownTopic;
        out.kind = pg.kind;
        return ErrorCode::kOk;
      }
    }
    return ErrorCode::kUnknownTopic;
  }
  struct Wide {
    const char *a, *b;
    TopicKind kind;
  };
  static const Wide kWide[] = {{"announce", nullptr, TopicKind::kAnnounce},   {"status", nullptr, TopicKind::kStatus},
                               {"heartbeat", nullptr, TopicKind::kHeartbeat}, {"config", nullptr, TopicKind::kConfig},
                               {"config", "ack", TopicKind::kConfigAck},      {"sensor", "batch", TopicKind::kSensorBatch},
                               {"system", "command", TopicKind::kSystemCommand},
                               {"emergency", nullptr, TopicKind::kDeviceEmergency}};
  for (const Wide &w : kWide) {
    bool match = w.b == nullptr ? (tn == 1 && tail[0].is(w.a)) : (tn == 2 && tail[0].is(w.a) && tail[1].is(w.b));
    if (match) {
      out.kind = w.kind;
      return ErrorCode::kOk;
    }
  }
  return ErrorCode::kUnknownTopic;
}

namespace {
class TopicBuf {
 public:
  TopicBuf(char *buf, size_t cap) : buf_(buf), cap_(cap) {}
  void add(const char *s) {
    while (*s) {
      if (this->len_ + 1 >= this->cap_) {
        this->ok_ = false;
        return;
      }
      this->buf_[this->len_++] = *s++;
    }
    this->buf_[this->len_] = '\0';
  }
  void add_int(int v) {
    char tmp[4] = {0};
    if (v >= 10) {
      tmp[0] = static_cast<char>('0' + v / 10);
      tmp[1] = static_cast<char>('0' + v % 10);
    } else {
      tmp[0] = static_cast<char>('0' + v);
    }
    this->add(tmp);
  }
  bool ok() const { return this->ok_; }

 private:
  char *buf_;
  size_t cap_;
  size_t len_ = 0;
  bool ok_ = true;
};
}  // namespace

bool build_topic(char *buf, size_t cap, const char *kaiser_id, const char *esp_id, TopicKind kind, int gpio) {
  if (cap > 0) buf[0] = '\0';
  if (kind == TopicKind::kEmergency || !valid_id(kaiser_id) || !valid_id(esp_id)) return false;
  bool per_gpio = kind == TopicKind::kSensorData || kind == TopicKind::kProcessed ||
                  kind == TopicKind::kActuatorCommand || kind == TopicKind::kActuatorStatus;
  if (per_gpio != (gpio >= 0) || gpio > kMaxGpio) return false;
  TopicBuf t(buf, cap);
  t.add("kaiser/");
  t.add(kaiser_id);
  t.add("/esp/");
  t.add(esp_id);
  t.add("/");
  if (per_gpio) {
    bool sensor = kind == TopicKind::kSensorData || kind == TopicKind::kProcessed;
    t.add(sensor ? "sensor/" : "actuator/");
    t.add_int(gpio);
    t.add(kind == TopicKind::kSensorData ? "/data"
          : kind == TopicKind::kProcessed ? "/processed"
          : kind == TopicKind::kActuatorCommand ? "/command"
                                                 : "/status");
  } else {
    t.add(topic_kind_name(kind));
  }
  if (!t.ok() && cap > 0) buf[0] = '\0';
  return t.ok();
}

bool build_emergency_topic(char *buf, size_t cap, const char *kaiser_id) {
  if (cap > 0) buf[0] = '\0';
  if (!valid_id(kaiser_id)) return false;
  TopicBuf t(buf, cap);
  t.add("kaiser/");
  t.add(kaiser_id);
  t.add("/broadcast/emergency");
  return t.ok();
}

// ---- typed messages ----

const char *actuator_type_name(ActuatorType t) {
  static const char *const kNames[] = {"relay", "pump", "valve", "pwm"};
  return kNames[static_cast<int>(t)];
}

Error parse_config(const char *data, size_t len, JsonDoc &doc, DeviceConfig &out) {
  Error err = validate_payload(PayloadKind::kConfig, data, len, doc);
  if (!err.ok()) return err;
  out.version = static_cast<uint32_t>(doc.num(doc.find(0, "version")));
  out.heartbeat_s = static_cast<uint16_t>(num_or(doc, doc.find(0, "heartbeat_s"), 0));
  int sensors = doc.find(0, "sensors");
  int actuators = doc.find(0, "actuators");
  out.n_sensors = static_cast<uint8_t>(doc.tok(sensors).count());
  out.n_actuators = static_cast<uint8_t>(doc.tok(actuators).count());
  int k = sensors + 1;
  for (int i = 0; i < out.n_sensors; i++, k = doc.tok(k).next) {
    SensorConfig &s = out.sensors[i];
    s = SensorConfig();
    s.gpio = static_cast<uint8_t>(doc.num(doc.find(k, "gpio")));
    copy_str(s.type, sizeof(s.type), doc, doc.find(k, "type"));
    s.interval_ms = static_cast<uint32_t>(doc.num(doc.find(k, "interval_ms")));
    int mode = doc.find(k, "mode");
    s.processed = mode >= 0 && doc.str_eq(mode, "processed");
    copy_str(s.addr, sizeof(s.addr), doc, doc.find(k, "addr"));
    s.scl = static_cast<int8_t>(num_or(doc, doc.find(k, "scl"), -1));
    parse_processing(doc, doc.find(k, "proc"), s.proc);
  }
  k = actuators + 1;
  for (int i = 0; i < out.n_actuators; i++, k = doc.tok(k).next) {
    ActuatorConfig &a = out.actuators[i];
    a = ActuatorConfig();
    a.gpio = static_cast<uint8_t>(doc.num(doc.find(k, "gpio")));
    int type = doc.find(k, "type");
    for (int t = 0; t < 4; t++) {
      if (doc.str_eq(type, actuator_type_name(static_cast<ActuatorType>(t)))) a.type = static_cast<ActuatorType>(t);
    }
    a.inverted = bool_or(doc, doc.find(k, "inverted"), false);
    a.safe_state = static_cast<uint8_t>(num_or(doc, doc.find(k, "safe_state"), 0));
    a.max_runtime_s = static_cast<uint32_t>(num_or(doc, doc.find(k, "max_runtime_s"), 0));
    a.cooldown_s = static_cast<uint32_t>(num_or(doc, doc.find(k, "cooldown_s"), 0));
    a.max_per_hour = static_cast<uint32_t>(num_or(doc, doc.find(k, "max_per_hour"), 0));
    a.failsafe_s = static_cast<uint32_t>(num_or(doc, doc.find(k, "failsafe_s"), 0));
  }
  return err;
}

// The position of the string token `tok` in `names`, or -1.
static int name_index(const JsonDoc &doc, int tok, const char *const *names, int count) {
  for (int i = 0; i < count; i++) {
    if (doc.str_eq(tok, names[i])) return i;
  }
  return -1;
}

Error parse_actuator_command(const char *data, size_t len, JsonDoc &doc, ActuatorCommand &out) {
  Error err = validate_payload(PayloadKind::kActuatorCommand, data, len, doc);
  if (!err.ok()) return err;
  int action = doc.find(0, "action");
  static const char *const kActions[] = {"on", "off", "set", "pulse"};
  int index = name_index(doc, action, kActions, 4);
  // The schema's enum already refused other names; if the table ever drifts from it, an
  // unknown action is refused here rather than read as "on".
  if (index < 0) {
    err.set(ErrorCode::kBadValue, "action");
    return err;
  }
  out.action = static_cast<Action>(index);
  int value = doc.find(0, "value");
  int duration = doc.find(0, "duration_s");
  // Rules beyond the schema (docs/protocol.md).
  if (out.action == Action::kSet && value < 0) {
    err.set(ErrorCode::kMissingField, "value");
    return err;
  }
  if (out.action == Action::kPulse && duration < 0) {
    err.set(ErrorCode::kMissingField, "duration_s");
    return err;
  }
  out.value = static_cast<int>(num_or(doc, value, -1));
  out.duration_s = num_or(doc, duration, 0.0);
  copy_str(out.cmd_id, sizeof(out.cmd_id), doc, doc.find(0, "cmd_id"));
  copy_str(out.source, sizeof(out.source), doc, doc.find(0, "source"));
  return err;
}

// Every member's default is zero (kRestart is 0), so zeroing the bytes is the default
// construction (a member added later must default to zero as well).
static_assert(static_cast<int>(SysCmd::kRestart) == 0, "SystemCommand's default is all zero");
static_assert(__is_trivially_copyable(SystemCommand), "SystemCommand is plain data");

void SystemCommand::clear() { memset(static_cast<void *>(this), 0, sizeof(*this)); }

Error parse_system_command(const char *data, size_t len, JsonDoc &doc, SystemCommand &out) {
  Error err = validate_payload(PayloadKind::kSystemCommand, data, len, doc);
  if (!err.ok()) return err;
  int cmd = doc.find(0, "cmd");
  static const char *const kCmds[] = {"restart", "factory_reset", "ota", "identify", "login", "move"};
  int index = name_index(doc, cmd, kCmds, 6);
  if (index < 0) {  // never read an unknown command as a restart
    err.set(ErrorCode::kBadValue, "cmd");
    return err;
  }
  out.cmd = static_cast<SysCmd>(index);
  int url = doc.find(0, "url");
  if (out.cmd == SysCmd::kOta && url < 0) {
    err.set(ErrorCode::kMissingField, "url");
    return err;
  }
  copy_str(out.url, sizeof(out.url), doc, url);
  copy_str(out.cmd_id, sizeof(out.cmd_id), doc, doc.find(0, "cmd_id"));
  copy_str(out.sha256, sizeof(out.sha256), doc, doc.find(0, "sha256"));
  copy_str(out.board, sizeof(out.board), doc, doc.find(0, "board"));
  copy_str(out.version, sizeof(out.version), doc, doc.find(0, "version"));
  out.size = static_cast<uint32_t>(num_or(doc, doc.find(0, "size"), 0));
  if (out.cmd == SysCmd::kLogin) {
    int username = doc.find(0, "username");
    int password = doc.find(0, "password");
    if (username < 0 || password < 0) {
      err.set(ErrorCode::kMissingField, username < 0 ? "username" : "password");
      return err;
    }
    copy_str(out.username, sizeof(out.username), doc, username);
    copy_str(out.password, sizeof(out.password), doc, password);
    copy_str(out.ca, sizeof(out.ca), doc, doc.find(0, "ca"));
    out.port = static_cast<uint16_t>(num_or(doc, doc.find(0, "port"), 0));
  }
  if (out.cmd == SysCmd::kMove) {
    int kaiser_id = doc.find(0, "kaiser_id");
    if (kaiser_id < 0) {
      err.set(ErrorCode::kMissingField, "kaiser_id");
      return err;
    }
    copy_str(out.kaiser_id, sizeof(out.kaiser_id), doc, kaiser_id);
    copy_str(out.host, sizeof(out.host), doc, doc.find(0, "host"));
    out.port = static_cast<uint16_t>(num_or(doc, doc.find(0, "port"), 0));
  }
  return err;
}

Error parse_emergency(const char *data, size_t len, JsonDoc &doc, Emergency &out) {
  Error err = validate_payload(PayloadKind::kEmergency, data, len, doc);
  if (!err.ok()) return err;
  out.stop = doc.str_eq(doc.find(0, "action"), "stop");
  copy_str(out.reason, sizeof(out.reason), doc, doc.find(0, "reason"));
  out.ts = static_cast<uint64_t>(num_or(doc, doc.find(0, "ts"), 0));
  return err;
}

Error parse_processed(const char *data, size_t len, JsonDoc &doc, Processed &out) {
  Error err = validate_payload(PayloadKind::kProcessed, data, len, doc);
  if (!err.ok()) return err;
  out.value = doc.num(doc.find(0, "value"));
  copy_str(out.unit, sizeof(out.unit), doc, doc.find(0, "unit"));
  copy_str(out.quality, sizeof(out.quality), doc, doc.find(0, "quality"));
  out.seq = static_cast<int64_t>(num_or(doc, doc.find(0, "seq"), -1));
  copy_str(out.addr, sizeof(out.addr), doc, doc.find(0, "addr"));
  return err;
}

Error parse_status(const char *data, size_t len, bool &online) {
  Error err;
  if (len == 6 && memcmp(data, "online", 6) == 0) {
    online = true;
  } else if (len == 7 && memcmp(data, "offline", 7) == 0) {
    online = false;
  } else {
    err.set(ErrorCode::kBadValue, "");
  }
  return err;
}

}  // namespace a1
