#include "a1/messages.h"

namespace a1 {

namespace {
size_t done(const JsonWriter &w) { return w.ok() ? w.len() : 0; }

void reading_fields(JsonWriter &w, const Reading &r) {
  if (r.has_value) {
    w.kv_num("value", r.value);
    if (r.unit[0] != '\0') w.kv("unit", r.unit);
  } else if (r.nwords > 0) {
    w.begin_array("raw");
    for (uint8_t i = 0; i < r.nwords; i++) w.item_uint(r.words[i]);
    w.end_array();
  } else {
    w.kv_num("raw", r.raw);
  }
  if (r.addr[0] != '\0') w.kv("addr", r.addr);
  if (r.quality[0] != '\0') w.kv("quality", r.quality);
  if (r.quantity[0] != '\0') w.kv("quantity", r.quantity);
}
}  // namespace

size_t build_announce(char *buf, size_t cap, const AnnounceInfo &a) {
  JsonWriter w(buf, cap);
  w.begin_object().kv_int("v", 1).kv("esp_id", a.esp_id).kv("kaiser_id", a.kaiser_id);
  if (a.name != nullptr && a.name[0] != '\0') w.kv("name", a.name);
  w.kv("board", a.board).kv("fw", a.fw).kv("fw_version", a.fw_version).kv("mac", a.mac);
  w.begin_object("caps")
      .kv_int("sensors", a.sensors)
      .kv_int("actuators", a.actuators)
      .kv_bool("batch", a.batch)
      .kv_int("buffer", a.buffer)
      .kv_bool("on_device", a.on_device);
  if (a.move) w.kv_bool("move", true);
  w.end_object();
  if (a.login != nullptr && a.login[0] != '\0') w.kv("login", a.login);
  if (a.login_error != nullptr && a.login_error[0] != '\0') w.kv("login_error", a.login_error);
  if (a.move_error != nullptr && a.move_error[0] != '\0') w.kv("move_error", a.move_error);
  w.end_object();
  return done(w);
}

size_t build_heartbeat(char *buf, size_t cap, const HeartbeatInfo &h) {
  JsonWriter w(buf, cap);
  w.begin_object()
      .kv_int("v", 1)
      .kv_uint("uptime_s", h.uptime_s)
      .kv_uint("heap_free", h.heap_free)
      .kv_uint("heap_min", h.heap_min)
      .kv_int("rssi", h.rssi < -127 ? -127 : (h.rssi > 0 ? 0 : h.rssi))
      .kv_uint("config_version", h.config_version)
      .kv_uint("buffered", h.buffered)
      .kv_uint("ts", h.ts)
      .end_object();
  return done(w);
}

size_t build_config_ack(char *buf, size_t cap, uint32_t version, const PinResult *results, int n) {
  bool all_ok = true;
  for (int i = 0; i < n; i++) all_ok = all_ok && results[i].ok;
  JsonWriter w(buf, cap);
  w.begin_object().kv_int("v", 1).kv_uint("version", version).kv_bool("ok", all_ok).begin_array("results");
  for (int i = 0; i < n; i++) {
    const PinResult &r = results[i];
    w.begin_object().kv("kind", r.sensor ? "sensor" : "actuator").kv_uint("gpio", r.gpio);
    if (r.addr != nullptr && r.addr[0] != '\0') w.kv("addr", r.addr);
    w.kv_bool("ok", r.ok);
    if (!r.ok && r.error != nullptr) w.kv("error", r.error);
    w.end_object();
  }
  w.end_array().end_object();
  return done(w);
}

size_t build_sensor_data(char *buf, size_t cap, uint32_t seq, uint64_t ts, bool replay, const Reading &r,
                         bool resend) {
  JsonWriter w(buf, cap);
  w.begin_object().kv_int("v", 1).kv_uint("seq", seq).kv_uint("ts", ts);
  if (replay) w.kv_bool("replay", true);
  if (resend) w.kv_bool("resend", true);
  reading_fields(w, r);
  w.end_object();
  return done(w);
}

size_t build_sensor_batch(char *buf, size_t cap, uint32_t seq, uint64_t ts, bool replay, const Reading *r, int n,
                          bool resend) {
  JsonWriter w(buf, cap);
  w.begin_object().kv_int("v", 1).kv_uint("seq", seq).kv_uint("ts", ts);
  if (replay) w.kv_bool("replay", true);
  if (resend) w.kv_bool("resend", true);
  w.begin_array("readings");
  for (int i = 0; i < n; i++) {
    w.begin_object().kv_uint("gpio", r[i].gpio);
    reading_fields(w, r[i]);
    w.end_object();
  }
  w.end_array().end_object();
  return done(w);
}

size_t build_actuator_status(char *buf, size_t cap, const ActuatorStatusInfo &s) {
  JsonWriter w(buf, cap);
  w.begin_object()
      .kv_int("v", 1)
      .kv_bool("state", s.state)
      .kv_uint("value", s.value)
      .kv("reason", reason_name(s.reason));
  if (s.refused != Refusal::kNone) {
    w.kv("refused", refusal_name(s.refused));
    if (s.until_s > 0) w.kv_num("until_s", s.until_s);
  }
  if (s.cmd_id != nullptr && s.cmd_id[0] != '\0') w.kv("cmd_id", s.cmd_id);
  w.kv_num("runtime_s", s.runtime_s).kv_uint("activations", s.activations);
  if (s.ts != 0) w.kv_uint("ts", s.ts);
  w.end_object();
  return done(w);
}

}  // namespace a1
