// Host test of the automationone ESPHome component: the sources ESPHome generated for
// tests/host_test.yaml (host platform), linked with this driver instead of the host's main().
// It runs the generated setup() (App, logger, template sensors/outputs, the component), then
// feeds protocol messages through the component's C++ API and checks what it would publish and
// what it writes to the outputs. The core itself (a1_*) runs the vectors in firmware-test.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <cJSON.h>

#include "check.h"
#include "host_probe.h"

#include "esphome/components/automationone/automationone.h"
#include "esphome/components/host/preferences.h"
#include "esphome/core/application.h"
#include "esphome/core/hal.h"
#include "esphome/core/helpers.h"
#include "esphome/core/preferences.h"

void setup();
void loop();

using namespace esphome::automationone;
using ao_test::check;

namespace {

struct Published {
  std::string topic;
  std::string payload;
  uint8_t qos;
  bool retain;
};

std::vector<Published> g_published;

const std::string BASE = "kaiser/god/esp/esp-a1b2c3/";

// A payload the component published, validated by the core's parser (the same code the
// firmware uses to check every message). Fields are read from the last validated payload.
a1::JsonDoc g_doc;

bool valid(a1::PayloadKind kind, const std::string &payload, std::string *why = nullptr) {
  a1::Error err = a1::validate_payload(kind, payload.data(), payload.size(), g_doc);
  if (why != nullptr)
    *why = std::string(a1::error_name(err.code)) + " " + err.path;
  return err.ok();
}
bool has(const char *key, int obj = 0) { return g_doc.find(obj, key) >= 0; }
std::string sget(const char *key, int obj = 0) {
  int t = g_doc.find(obj, key);
  return t >= 0 && g_doc.tok(t).type == a1::JType::kString ? std::string(g_doc.str(t)) : "";
}
double nget(const char *key, int obj = 0) {
  int t = g_doc.find(obj, key);
  return t >= 0 ? g_doc.num(t) : NAN;
}
bool bget(const char *key, int obj = 0) {
  int t = g_doc.find(obj, key);
  return t >= 0 && g_doc.tok(t).type == a1::JType::kTrue;
}

// The last message published on `topic` since the log was cleared (nullptr if none).
const Published *last_on(const std::string &topic) {
  for (auto it = g_published.rbegin(); it != g_published.rend(); ++it) {
    if (it->topic == topic)
      return &*it;
  }
  return nullptr;
}

// Validate the last status of an actuator (actuator_status schema); its fields are then in g_doc.
bool last_status(int gpio, bool *retained = nullptr) {
  const Published *p = last_on(BASE + "actuator/" + std::to_string(gpio) + "/status");
  if (!check(p != nullptr, "a status for GPIO" + std::to_string(gpio) + " was published"))
    return false;
  std::string why;
  bool ok = valid(a1::PayloadKind::kActuatorStatus, p->payload, &why);
  check(ok, "status is a valid actuator_status: " + p->payload + " (" + why + ")");
  if (retained != nullptr)
    *retained = p->retain;
  return ok;
}

void send(AutomationOneComponent *ao, const std::string &tail, const std::string &payload, uint64_t t_ms) {
  ao->handle_message(BASE + tail, payload, t_ms);
}

// Vector files are larger than any protocol payload: read with cJSON.
cJSON *load_json(const std::string &path) {
  FILE *f = fopen(path.c_str(), "rb");
  if (f == nullptr)
    return nullptr;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    text.append(buf, n);
  fclose(f);
  return cJSON_Parse(text.c_str());
}
std::string jstr(const cJSON *obj, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}
// `payload`, or the bytes of `payload_hex` (vectors whose payload is not UTF-8).
std::string jpayload(const cJSON *v) {
  std::string hex = jstr(v, "payload_hex");
  if (hex.empty())
    return jstr(v, "payload");
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}
std::string jdump(const cJSON *v) {
  char *text = cJSON_PrintUnformatted(v);
  std::string out(text);
  free(text);
  return out;
}

void test_hello(AutomationOneComponent *ao) {
  g_published.clear();
  ao->publish_hello(1000);
  check(g_published.size() >= 3, "hello publishes announce, status and actuator statuses");
  check(g_published[0].topic == BASE + "announce" && g_published[0].retain && g_published[0].qos == 1,
        "announce first, retained, QoS 1");
  check(g_published[1].topic == BASE + "status" && g_published[1].payload == "online" && g_published[1].retain,
        "then status online, retained");
  check(valid(a1::PayloadKind::kAnnounce, g_published[0].payload) && sget("esp_id") == "esp-a1b2c3" &&
            sget("kaiser_id") == "god",
        "announce valid and matching its topic: " + g_published[0].payload);
  check(sget("fw") == "esphome" && sget("board") == "host" && sget("mac") == "24:0A:C4:A1:B2:C3" &&
            sget("name") == "Host test",
        "announce fields: " + g_published[0].payload);
  check(last_status(16) && sget("reason") == "boot", "pump status after boot: reason boot");
  const Published *hb = last_on(BASE + "heartbeat");
  check(hb != nullptr && valid(a1::PayloadKind::kHeartbeat, hb->payload) && !hb->retain, "heartbeat valid, not retained");
}

void test_commands(AutomationOneComponent *ao) {
  bool retained = false;
  check(ao_probe()["pump"] == 0.0f, "pump output off after boot");
  // on -> output on, status command with cmd_id, retained.
  g_published.clear();
  send(ao, "actuator/16/command", R"({"v":1,"action":"on","cmd_id":"c-1"})", 2000);
  check(ao_probe()["pump"] == 1.0f, "pump output on after command");
  check(last_status(16, &retained) && bget("state") && sget("reason") == "command" && sget("cmd_id") == "c-1" &&
            retained,
        "status on, reason command, cmd_id echoed, retained");
  // max_runtime 30 s fires from the component's tick.
  ao->tick(31999);
  check(ao_probe()["pump"] == 1.0f, "pump still on just before max_runtime");
  ao->tick(32000);
  check(ao_probe()["pump"] == 0.0f, "pump output off at max_runtime");
  check(last_status(16) && sget("reason") == "max_runtime" && std::fabs(nget("runtime_s") - 30.0) < 1e-9,
        "status reason max_runtime, runtime_s 30");
  // Cooldown 10 s refuses; status says so with until_s.
  send(ao, "actuator/16/command", R"({"v":1,"action":"on","cmd_id":"c-2"})", 35000);
  check(ao_probe()["pump"] == 0.0f, "pump stays off in cooldown");
  check(last_status(16) && sget("refused") == "cooldown" && nget("until_s") == 7.0 && sget("cmd_id") == "c-2",
        "refusal cooldown with until_s 7 and cmd_id");
  // pwm: set 128 writes the level.
  send(ao, "actuator/12/command", R"({"v":1,"action":"set","value":128})", 36000);
  check(std::fabs(ao_probe()["fan"] - 128.0f / 255.0f) < 1e-6, "fan output level 128/255");
  // An invalid command: rejected with error code, answered with refused invalid.
  uint32_t rejected = ao->rejected_messages();
  send(ao, "actuator/12/command", R"({"v":1,"action":"set"})", 37000);
  check(ao->rejected_messages() == rejected + 1, "invalid command counted as rejected");
  check(last_status(12) && sget("refused") == "invalid" && nget("value") == 128,
        "invalid command: refused invalid, state unchanged");
  // An unknown pin: refused unknown_gpio, not retained.
  g_published.clear();
  send(ao, "actuator/7/command", R"({"v":1,"action":"on"})", 37000);
  const Published *p = last_on(BASE + "actuator/7/status");
  check(p != nullptr && !p->retain && p->payload.find("\"refused\":\"unknown_gpio\"") != std::string::npos,
        "unknown pin: refused unknown_gpio, not retained");
  // Another device's topic and an invalid topic are ignored.
  rejected = ao->rejected_messages();
  ao->handle_message("kaiser/god/esp/other/actuator/16/command", R"({"v":1,"action":"on"})", 37000);
  check(ao_probe()["pump"] == 0.0f, "another device's command is ignored");
  ao->handle_message("kaiser/god/esp/esp+1/actuator/16/command", R"({"v":1,"action":"on"})", 37000);
  check(ao->rejected_messages() == rejected + 1, "invalid topic counted as rejected");
}

void test_emergency_and_link(AutomationOneComponent *ao) {
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 50000);
  check(ao_probe()["pump"] == 1.0f, "pump on again after the cooldown");
  ao->handle_message("kaiser/god/broadcast/emergency", R"({"v":1,"action":"stop","reason":"test"})", 51000);
  check(ao_probe()["pump"] == 0.0f && ao_probe()["fan"] == 0.0f, "emergency stop: every output to safe state");
  check(last_status(12) && sget("reason") == "emergency", "fan status reason emergency");
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 52000);
  check(last_status(16) && sget("refused") == "emergency" && ao_probe()["pump"] == 0.0f,
        "command refused during the emergency");
  ao->handle_message("kaiser/other/broadcast/emergency", R"({"v":1,"action":"clear"})", 53000);
  check(ao->emergency_active(), "another kaiser's clear is ignored");
  ao->handle_message("kaiser/god/broadcast/emergency", "", 53000);
  check(ao->emergency_active(), "an empty retained emergency changes nothing");
  ao->handle_message("kaiser/god/broadcast/emergency", R"({"v":1,"action":"clear"})", 54000);
  check(!ao->emergency_active() && ao_probe()["pump"] == 0.0f, "clear: commands allowed, nothing turns on");
  // The device's own stop: only its own clear ends it, the broadcast's clear does not.
  ao->handle_message("kaiser/god/esp/esp-other/emergency", R"({"v":1,"action":"stop"})", 54100);
  check(!ao->emergency_active(), "another device's own stop is ignored");
  send(ao, "emergency", R"({"v":1,"action":"stop"})", 54200);
  check(ao->emergency_active(), "the device's own stop holds it");
  ao->handle_message("kaiser/god/broadcast/emergency", R"({"v":1,"action":"clear"})", 54300);
  check(ao->emergency_active(), "a broadcast clear does not end the device's own stop");
  send(ao, "emergency", R"({"v":1,"action":"clear"})", 54400);
  check(!ao->emergency_active(), "its own clear ends it");
  // Link loss: fail-safe after 10 s.
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 70000);
  ao->set_link(false, 71000);
  ao->tick(80999);
  check(ao_probe()["pump"] == 1.0f, "pump on until the fail-safe deadline");
  ao->tick(81000);
  check(ao_probe()["pump"] == 0.0f && last_status(16) && sget("reason") == "failsafe",
        "fail-safe 10 s after the link went down");
  ao->set_link(true, 82000);
  check(ao_probe()["pump"] == 0.0f, "stays off when the link returns");
}

void test_sensors(AutomationOneComponent *ao) {
  const SensorSlot &slot = ao->sensor_slots()[0];
  g_published.clear();
  slot.sensor->publish_state(1800.0f);
  const Published *p = last_on(BASE + "sensor/34/data");
  check(p != nullptr && !p->retain && p->qos == 0, "reading published on sensor/34/data, QoS 0, not retained");
  uint32_t first_seq = 0;
  if (p != nullptr) {
    check(valid(a1::PayloadKind::kSensorData, p->payload) && nget("raw") == 1800.0,
          "reading valid with raw 1800: " + p->payload);
    first_seq = static_cast<uint32_t>(nget("seq"));
  }
  slot.sensor->publish_state(1801.0f);
  p = last_on(BASE + "sensor/34/data");
  check(p != nullptr && valid(a1::PayloadKind::kSensorData, p->payload) && nget("seq") == first_seq + 1,
        "seq +1 per message");
  // Processed value from HA lands in the processed sensor.
  send(ao, "sensor/34/processed", R"({"v":1,"seq":42,"value":6.98,"unit":"pH","quality":"good"})", 90000);
  check(slot.processed != nullptr && std::fabs(slot.processed->state - 6.98f) < 1e-5,
        "processed value published to the processed sensor");
  uint32_t rejected = ao->rejected_messages();
  send(ao, "sensor/34/processed", R"({"v":1,"value":1.0,"quality":"good"})", 90000);
  check(ao->rejected_messages() == rejected + 1, "processed without unit rejected");
}

const char *const CONFIG_7 = R"({"v":1,"version":7,"heartbeat_s":30,
    "sensors":[{"gpio":34,"type":"ph","interval_ms":5000,"mode":"processed"},
               {"gpio":4,"type":"ds18b20","interval_ms":10000}],
    "actuators":[{"gpio":16,"type":"pump","max_runtime_s":5,"cooldown_s":0,"failsafe_s":0}]})";

void test_config(AutomationOneComponent *ao) {
  g_published.clear();
  send(ao, "config", CONFIG_7, 100000);
  const Published *ack = last_on(BASE + "config/ack");
  if (check(ack != nullptr && ack->retain, "config/ack published, retained") &&
      check(valid(a1::PayloadKind::kConfigAck, ack->payload), "ack valid: " + ack->payload)) {
    int results = g_doc.find(0, "results");
    check(nget("version") == 7 && !bget("ok") && g_doc.tok(results).count() == 3, "ack: version 7, not all ok");
    check(bget("ok", g_doc.item(results, 0)), "sensor 34 applied (analog read, type ph)");
    check(!bget("ok", g_doc.item(results, 1)) && sget("error", g_doc.item(results, 1)) == "bad_config",
          "sensor 4 not in this firmware: bad_config");
    check(bget("ok", g_doc.item(results, 2)), "actuator 16 applied");
  }
  check(ao->heartbeat_interval() == 30000 && ao->config_version() == 7, "heartbeat_s and version applied");
  const SensorSlot &slot = ao->sensor_slots()[0];
  check(slot.poller != nullptr && slot.poller->get_update_interval() == 5000, "interval_ms applied to the sensor's poller");
  check(slot.processed_mode, "mode processed applied");
  slot.sensor->publish_state(55.0f);
  const Published *p = last_on(BASE + "sensor/34/data");
  check(p != nullptr && p->payload.find("\"value\":55") != std::string::npos &&
            p->payload.find("\"unit\":\"%\"") != std::string::npos,
        "processed mode sends value and unit: " + (p ? p->payload : std::string()));
  check(last_status(12) && sget("reason") == "config" && !bget("state"),
        "actuator 12 not listed: safe state, reason config");
  send(ao, "actuator/12/command", R"({"v":1,"action":"on"})", 101000);
  check(ao_probe()["fan"] == 0.0f && last_status(12) && sget("refused") == "unknown_gpio",
        "unlisted actuator refuses commands");
  // The pushed max_runtime 5 s is enforced.
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 102000);
  ao->tick(107000);
  check(ao_probe()["pump"] == 0.0f && last_status(16) && sget("reason") == "max_runtime",
        "pushed max_runtime 5 s enforced");
  // A limit change keeps runtime and activations (docs/protocol.md "Limit changes").
  double runtime = nget("runtime_s");
  double activations = nget("activations");
  send(ao, "config", R"({"v":1,"version":9,"sensors":[],"actuators":[{"gpio":16,"type":"pump","max_runtime_s":8}]})",
       107500);
  check(last_status(16) && nget("runtime_s") == runtime && nget("activations") == activations &&
            sget("reason") == "max_runtime",
        "limit change keeps runtime_s, activations and reason");
  send(ao, "config", CONFIG_7, 107600);  // back to config 7 for what follows
  // The applied config is kept in flash (host: the preferences file) for the next boot.
  uint32_t key = esphome::fnv1_hash("automationone_config_v1");
  StoredHeader header{};
  StoredSensor sensor34{};
  StoredActuator pump{}, fan{};
  check(esphome::global_preferences->make_preference<StoredHeader>(key).load(&header) && header.version == 7 &&
            header.heartbeat_s == 30,
        "applied config version stored in preferences");
  check(esphome::global_preferences->make_preference<StoredSensor>(key ^ (0x100u + 34)).load(&sensor34) &&
            sensor34.listed && sensor34.processed && sensor34.interval_ms == 5000,
        "sensor 34 settings stored");
  check(esphome::global_preferences->make_preference<StoredActuator>(key ^ (0x200u + 16)).load(&pump) && pump.listed &&
            pump.max_runtime_s == 5 && pump.failsafe_s == 0,
        "pump limits stored");
  check(esphome::global_preferences->make_preference<StoredActuator>(key ^ (0x200u + 12)).load(&fan) && !fan.listed,
        "unlisted fan stored as not listed");
  // A broken config is rejected as a whole: nothing changes, no ack.
  g_published.clear();
  uint32_t rejected = ao->rejected_messages();
  send(ao, "config", R"({"v":1,"version":8,"sensors":[]})", 108000);
  check(ao->rejected_messages() == rejected + 1 && ao->config_version() == 7 && last_on(BASE + "config/ack") == nullptr,
        "config without actuators rejected, version unchanged");
}

void test_system(AutomationOneComponent *ao) {
  float before = ao_probe()["identify"];
  send(ao, "system/command", R"({"v":1,"cmd":"identify"})", 110000);
  check(ao_probe()["identify"] == before + 1, "identify runs on_identify");
  uint32_t rejected = ao->rejected_messages();
  send(ao, "system/command", R"({"v":1,"cmd":"ota","url":"file:///etc/passwd"})", 110000);
  check(ao->rejected_messages() == rejected + 1, "ota with a file URL rejected");
  // Its broker is in the YAML: a move is answered with move_error unsupported, on its own root.
  g_published.clear();
  send(ao, "system/command", R"({"v":1,"cmd":"move","kaiser_id":"gh1","host":"relay.lan"})", 110000);
  const Published *hello = last_on(BASE + "announce");
  check(hello != nullptr && hello->payload.find("\"move_error\":\"unsupported\"") != std::string::npos &&
            hello->payload.find("\"kaiser_id\":\"god\"") != std::string::npos,
        "a move is answered with move_error unsupported");
}

// Every payload vector of a kind the device receives goes through handle_message on its topic:
// accepted ones are not counted as rejected, rejected ones are (with the vector's error).
void test_received_vectors(AutomationOneComponent *ao, const std::string &dir) {
  cJSON *doc = load_json(dir + "/protocol/payloads.json");
  if (!check(doc != nullptr, "payload vectors readable"))
    return;
  int n = 0;
  const cJSON *vec;
  cJSON_ArrayForEach(vec, cJSON_GetObjectItemCaseSensitive(doc, "vectors")) {
    std::string kind = jstr(vec, "kind");
    std::string payload = jpayload(vec);
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(vec, "expect"), "ok"));
    std::string tail;
    if (kind == "actuator_command") {
      tail = "actuator/16/command";
    } else if (kind == "config") {
      tail = "config";
    } else if (kind == "processed") {
      tail = "sensor/34/processed";
    } else if (kind == "system_command") {
      if (ok && payload.find("identify") == std::string::npos)
        continue;  // would restart the test process
      tail = "system/command";
    } else if (kind == "emergency") {
      tail = "";
    } else {
      continue;
    }
    uint32_t rejected = ao->rejected_messages();
    if (tail.empty()) {
      ao->handle_message("kaiser/god/broadcast/emergency", payload, 200000);
    } else {
      send(ao, tail, payload, 200000);
    }
    n++;
    check(ao->rejected_messages() == rejected + (ok ? 0 : 1), "component " + kind + " vector '" + jstr(vec, "name") + "'");
  }
  cJSON_Delete(doc);
  ao->handle_message("kaiser/god/broadcast/emergency", R"({"v":1,"action":"clear"})", 200000);
  printf("component: %d received-payload vectors fed through handle_message\n", n);
}

// Output doubles that record what the component writes.
class RecordingBinaryOutput : public esphome::output::BinaryOutput {
 public:
  bool on{false};

 protected:
  void write_state(bool state) override { this->on = state; }
};

class RecordingFloatOutput : public esphome::output::FloatOutput {
 public:
  float level{0.0f};

 protected:
  void write_state(float state) override { this->level = state; }
};

// Every safety timeline again, this time through a fresh component per vector: commands as
// MQTT payloads into handle_message, the emergency on the broadcast topic, limit changes as
// config payloads, link changes through set_link; checked against the status the component
// publishes and the level it writes.
void test_timelines_through_component(const std::string &dir) {
  cJSON *doc = load_json(dir + "/safety/timelines.json");
  if (!check(doc != nullptr, "timeline vectors readable"))
    return;
  AutomationOneComponent *saved = global_automationone;
  int vectors = 0;
  const cJSON *vec;
  cJSON_ArrayForEach(vec, cJSON_GetObjectItemCaseSensitive(doc, "vectors")) {
    vectors++;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(vec, "actuator");
    std::string name = jstr(vec, "name");
    int gpio = cJSON_GetObjectItemCaseSensitive(act, "gpio")->valueint;
    bool pwm = jstr(act, "type") == "pwm";
    auto get = [act](const char *key) {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive(act, key);
      return cJSON_IsNumber(v) ? static_cast<uint32_t>(v->valuedouble) : 0u;
    };
    ActuatorLimits limits;
    limits.pwm = pwm;
    limits.safe_state = static_cast<uint8_t>(get("safe_state"));
    limits.max_runtime_s = get("max_runtime_s");
    limits.cooldown_s = get("cooldown_s");
    limits.max_per_hour = get("max_per_hour");
    limits.failsafe_s = get("failsafe_s");
    auto *binary = new RecordingBinaryOutput();  // NOLINT: lives as long as the component
    auto *level = new RecordingFloatOutput();    // NOLINT
    auto *comp = new AutomationOneComponent();   // NOLINT
    comp->set_esp_id("esp-a1b2c3");
    comp->set_restore_config(false);
    if (pwm) {
      comp->add_float_actuator(gpio, "pwm", level, limits);
    } else {
      comp->add_binary_actuator(gpio, jstr(act, "type"), binary, limits);
    }
    std::vector<Published> published;
    comp->set_publish_hook([&published](const std::string &topic, const std::string &payload, uint8_t qos, bool retain) {
      published.push_back(Published{topic, payload, qos, retain});
    });
    comp->setup();  // boots at millis_64(): the vector's clock starts after that
    const uint64_t base = esphome::millis_64() + 1000;
    comp->set_link(true, base);
    const std::string status_topic = BASE + "actuator/" + std::to_string(gpio) + "/status";
    auto last_status_of = [&]() {
      for (auto it = published.rbegin(); it != published.rend(); ++it) {
        if (it->topic == status_topic)
          return valid(a1::PayloadKind::kActuatorStatus, it->payload);
      }
      return false;
    };
    int version = 1;
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(vec, "steps")) {
      double ts = cJSON_GetObjectItemCaseSensitive(step, "t")->valuedouble;
      uint64_t t = base + static_cast<uint64_t>(std::llround(ts * 1000.0));
      std::string what = "component timeline '" + name + "' t=" + std::to_string(ts);
      if (const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(step, "command")) {
        published.clear();
        comp->handle_message(BASE + "actuator/" + std::to_string(gpio) + "/command", jdump(cmd), t);
        const cJSON *refused = cJSON_GetObjectItemCaseSensitive(step, "refused");
        if (!check(last_status_of(), what + ": a status answers the command"))
          continue;
        if (!cJSON_IsString(refused)) {
          check(!has("refused"), what + ": accepted");
        } else {
          check(sget("refused") == refused->valuestring, what + ": refused " + refused->valuestring);
          const cJSON *until = cJSON_GetObjectItemCaseSensitive(step, "until_s");
          if (cJSON_IsNumber(until))
            check(has("until_s") && std::fabs(nget("until_s") - until->valuedouble) < 1e-6, what + ": until_s");
        }
      } else if (const cJSON *link = cJSON_GetObjectItemCaseSensitive(step, "link")) {
        comp->set_link(std::string(link->valuestring) == "up", t);
      } else if (const cJSON *em = cJSON_GetObjectItemCaseSensitive(step, "emergency")) {
        comp->handle_message("kaiser/god/broadcast/emergency",
                             std::string("{\"v\":1,\"action\":\"") + em->valuestring + "\"}", t);
      } else if (const cJSON *config = cJSON_GetObjectItemCaseSensitive(step, "config")) {
        std::string payload = "{\"v\":1,\"version\":" + std::to_string(++version) +
                              ",\"sensors\":[],\"actuators\":[" + jdump(config) + "]}";
        comp->handle_message(BASE + "config", payload, t);
      } else if (const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect")) {
        comp->tick(t);
        if (!check(last_status_of(), what + ": a status was published"))
          continue;
        double value = cJSON_GetObjectItemCaseSensitive(expect, "value")->valuedouble;
        check(bget("state") == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "state")) &&
                  nget("value") == value && sget("reason") == jstr(expect, "reason"),
              what + ": published state/value/reason");
        const cJSON *activations = cJSON_GetObjectItemCaseSensitive(expect, "activations");
        if (cJSON_IsNumber(activations))
          check(nget("activations") == activations->valuedouble, what + ": activations");
        const cJSON *runtime = cJSON_GetObjectItemCaseSensitive(expect, "runtime_s");
        if (cJSON_IsNumber(runtime))
          check(std::fabs(comp->actuator(gpio)->runtime_s(t) - runtime->valuedouble) < 1e-6, what + ": runtime_s");
        if (pwm) {
          check(std::fabs(level->level - static_cast<float>(value) / 255.0f) < 1e-6, what + ": pwm level written");
        } else {
          check(binary->on == (value > 0), what + ": output written");
        }
      }
    }
  }
  cJSON_Delete(doc);
  global_automationone = saved;
  printf("component timelines: %d vectors through handle_message, statuses and outputs\n", vectors);
}

// Second run on the same preferences file: the config pushed in the first run is back at boot.
void test_after_reboot(AutomationOneComponent *ao) {
  check(ao->config_version() == 7 && ao->heartbeat_interval() == 30000, "after reboot: config version 7 restored");
  const SensorSlot &slot = ao->sensor_slots()[0];
  check(slot.processed_mode && slot.poller->get_update_interval() == 5000, "after reboot: sensor settings restored");
  check(ao->actuator(16) != nullptr && ao->actuator(16)->config().max_runtime_s == 5,
        "after reboot: pushed pump limits restored");
  send(ao, "actuator/12/command", R"({"v":1,"action":"on"})", 1000);
  check(ao_probe()["fan"] == 0.0f && last_status(12) && sget("refused") == "unknown_gpio",
        "after reboot: the actuator the config left out stays disabled");
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 2000);
  ao->tick(7000);
  check(ao_probe()["pump"] == 0.0f && last_status(16) && sget("reason") == "max_runtime",
        "after reboot: restored max_runtime 5 s enforced before any broker contact");
}

}  // namespace

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : "../tests/vectors";
  bool after_reboot = argc > 2 && std::string(argv[2]) == "--after-reboot";
  esphome::host::setup_preferences();
  setup();  // the generated setup(): every component of tests/host_test.yaml, then App.setup()
  for (int i = 0; i < 20; i++)
    loop();  // App.loop() also logs every component's dump_config()
  AutomationOneComponent *ao = global_automationone;
  if (check(ao != nullptr && !ao->is_failed(), "component set up")) {
    ao->set_publish_hook([](const std::string &topic, const std::string &payload, uint8_t qos, bool retain) {
      g_published.push_back(Published{topic, payload, qos, retain});
    });
    check(ao->esp_id() == "esp-a1b2c3", "esp_id from the YAML");
    ao->set_link(true, 500);
    if (after_reboot) {
      test_after_reboot(ao);
      printf("host (ESPHome) after reboot: %d checks passed, %d failed\n", ao_test::counter().passed,
             ao_test::counter().failed);
      fflush(stdout);
      _exit(ao_test::counter().failed == 0 ? 0 : 1);
    }
    test_hello(ao);
    test_commands(ao);
    test_emergency_and_link(ao);
    test_sensors(ao);
    test_config(ao);
    test_system(ao);
    test_received_vectors(ao, dir);
    // Leave config 7 in flash for the --after-reboot run.
    send(ao, "config", CONFIG_7, 300000);
    test_timelines_through_component(dir);
  }
  printf("host (ESPHome): %d checks passed, %d failed\n", ao_test::counter().passed, ao_test::counter().failed);
  fflush(stdout);
  _exit(ao_test::counter().failed == 0 ? 0 : 1);  // skip ESPHome's static teardown
}
