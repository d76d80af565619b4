// Host test of the automationone ESPHome component: the sources ESPHome generated for
// tests/host_test.yaml (host platform), linked with this driver instead of the host's main().
// It runs the generated setup() (App, logger, template sensors/outputs, the component), then
// feeds protocol messages through the component's C++ API and checks what it would publish and
// what it writes to the outputs. Also runs the plain-C++ vector tests in the same binary.
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "check.h"
#include "host_probe.h"
#include "vector_tests.h"

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

// The last message published on `topic` since the log was cleared (nullptr if none).
const Published *last_on(const std::string &topic) {
  for (auto it = g_published.rbegin(); it != g_published.rend(); ++it) {
    if (it->topic == topic)
      return &*it;
  }
  return nullptr;
}

// Parse the last status of an actuator; checks it against the actuator_status schema.
bool last_status(int gpio, JsonValue &status, bool *retained = nullptr) {
  const Published *p = last_on(BASE + "actuator/" + std::to_string(gpio) + "/status");
  if (!check(p != nullptr, "a status for GPIO" + std::to_string(gpio) + " was published"))
    return false;
  ProtoError error;
  bool ok = parse_payload(PayloadKind::ACTUATOR_STATUS, p->payload, status, error);
  check(ok, "status is a valid actuator_status: " + p->payload + " (" + error_code_str(error.code) + " " + error.path + ")");
  if (retained != nullptr)
    *retained = p->retain;
  return ok;
}

std::string sget(const JsonValue &v, const char *key) {
  const JsonValue *x = v.get(key);
  return x != nullptr && x->is_string() ? x->as_string() : "";
}

void send(AutomationOneComponent *ao, const std::string &tail, const std::string &payload, uint64_t t_ms) {
  ao->handle_message(BASE + tail, payload, t_ms);
}

void test_hello(AutomationOneComponent *ao) {
  g_published.clear();
  ao->publish_hello(1000);
  check(g_published.size() >= 3, "hello publishes announce, status and actuator statuses");
  check(g_published[0].topic == BASE + "announce" && g_published[0].retain && g_published[0].qos == 1,
        "announce first, retained, QoS 1");
  check(g_published[1].topic == BASE + "status" && g_published[1].payload == "online" && g_published[1].retain,
        "then status online, retained");
  Topic topic;
  ProtoError error;
  parse_topic(BASE + "announce", topic, error);
  JsonValue announce;
  check(parse_announce_for(topic, g_published[0].payload, announce, error),
        "announce valid and matching its topic: " + g_published[0].payload);
  check(sget(announce, "fw") == "esphome" && sget(announce, "board") == "host" &&
            sget(announce, "mac") == "24:0A:C4:A1:B2:C3" && sget(announce, "name") == "Host test",
        "announce fields: " + g_published[0].payload);
  JsonValue status;
  check(last_status(16, status) && sget(status, "reason") == "boot", "pump status after boot: reason boot");
  const Published *hb = last_on(BASE + "heartbeat");
  JsonValue heartbeat;
  check(hb != nullptr && parse_payload(PayloadKind::HEARTBEAT, hb->payload, heartbeat, error) && !hb->retain,
        "heartbeat valid, not retained");
}

void test_commands(AutomationOneComponent *ao) {
  JsonValue status;
  bool retained = false;
  check(ao_probe()["pump"] == 0.0f, "pump output off after boot");
  // on -> output on, status command with cmd_id, retained.
  g_published.clear();
  send(ao, "actuator/16/command", R"({"v":1,"action":"on","cmd_id":"c-1"})", 2000);
  check(ao_probe()["pump"] == 1.0f, "pump output on after command");
  check(last_status(16, status, &retained) && status.get("state")->as_bool() && sget(status, "reason") == "command" &&
            sget(status, "cmd_id") == "c-1" && retained,
        "status on, reason command, cmd_id echoed, retained");
  // max_runtime 30 s fires from the component's tick.
  ao->tick(31999);
  check(ao_probe()["pump"] == 1.0f, "pump still on just before max_runtime");
  ao->tick(32000);
  check(ao_probe()["pump"] == 0.0f, "pump output off at max_runtime");
  check(last_status(16, status) && sget(status, "reason") == "max_runtime" &&
            std::fabs(status.get("runtime_s")->as_double() - 30.0) < 1e-9,
        "status reason max_runtime, runtime_s 30");
  // Cooldown 10 s refuses; status says so with until_s.
  send(ao, "actuator/16/command", R"({"v":1,"action":"on","cmd_id":"c-2"})", 35000);
  check(ao_probe()["pump"] == 0.0f, "pump stays off in cooldown");
  check(last_status(16, status) && sget(status, "refused") == "cooldown" && status.get("until_s")->as_double() == 7.0 &&
            sget(status, "cmd_id") == "c-2",
        "refusal cooldown with until_s 7 and cmd_id");
  // pwm: set 128 writes the level.
  send(ao, "actuator/12/command", R"({"v":1,"action":"set","value":128})", 36000);
  check(std::fabs(ao_probe()["fan"] - 128.0f / 255.0f) < 1e-6, "fan output level 128/255");
  // An invalid command: rejected with error code, answered with refused invalid.
  uint32_t rejected = ao->rejected_messages();
  send(ao, "actuator/12/command", R"({"v":1,"action":"set"})", 37000);
  check(ao->rejected_messages() == rejected + 1, "invalid command counted as rejected");
  check(last_status(12, status) && sget(status, "refused") == "invalid" && status.get("value")->as_int() == 128,
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
  JsonValue status;
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 50000);
  check(ao_probe()["pump"] == 1.0f, "pump on again after the cooldown");
  ao->handle_message("kaiser/god/broadcast/emergency", R"({"v":1,"action":"stop","reason":"test"})", 51000);
  check(ao_probe()["pump"] == 0.0f && ao_probe()["fan"] == 0.0f, "emergency stop: every output to safe state");
  check(last_status(12, status) && sget(status, "reason") == "emergency", "fan status reason emergency");
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 52000);
  check(last_status(16, status) && sget(status, "refused") == "emergency" && ao_probe()["pump"] == 0.0f,
        "command refused during the emergency");
  ao->handle_message("kaiser/other/broadcast/emergency", R"({"v":1,"action":"clear"})", 53000);
  check(ao->bank().emergency_active(), "another kaiser's clear is ignored");
  ao->handle_message("kaiser/god/broadcast/emergency", "", 53000);
  check(ao->bank().emergency_active(), "an empty retained emergency changes nothing");
  ao->handle_message("kaiser/god/broadcast/emergency", R"({"v":1,"action":"clear"})", 54000);
  check(!ao->bank().emergency_active() && ao_probe()["pump"] == 0.0f, "clear: commands allowed, nothing turns on");
  // The device's own stop: only its own clear ends it, the broadcast's clear does not.
  ao->handle_message("kaiser/god/esp/esp-other/emergency", R"({"v":1,"action":"stop"})", 54100);
  check(!ao->bank().emergency_active(), "another device's own stop is ignored");
  send(ao, "emergency", R"({"v":1,"action":"stop"})", 54200);
  check(ao->bank().emergency_active(), "the device's own stop holds it");
  ao->handle_message("kaiser/god/broadcast/emergency", R"({"v":1,"action":"clear"})", 54300);
  check(ao->bank().emergency_active(), "a broadcast clear does not end the device's own stop");
  send(ao, "emergency", R"({"v":1,"action":"clear"})", 54400);
  check(!ao->bank().emergency_active(), "its own clear ends it");
  // Link loss: fail-safe after 10 s.
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 70000);
  ao->set_link(false, 71000);
  ao->tick(80999);
  check(ao_probe()["pump"] == 1.0f, "pump on until the fail-safe deadline");
  ao->tick(81000);
  check(ao_probe()["pump"] == 0.0f && last_status(16, status) && sget(status, "reason") == "failsafe",
        "fail-safe 10 s after the link went down");
  ao->set_link(true, 82000);
  check(ao_probe()["pump"] == 0.0f, "stays off when the link returns");
}

void test_sensors(AutomationOneComponent *ao) {
  const SensorSlot &slot = ao->sensor_slots()[0];
  g_published.clear();
  slot.sensor->publish_state(1800.0f);
  const Published *p = last_on(BASE + "sensor/34/data");
  JsonValue data;
  ProtoError error;
  check(p != nullptr && !p->retain && p->qos == 0, "reading published on sensor/34/data, QoS 0, not retained");
  if (p != nullptr) {
    check(parse_payload(PayloadKind::SENSOR_DATA, p->payload, data, error) && data.get("raw")->as_double() == 1800.0,
          "reading valid with raw 1800: " + p->payload);
  }
  uint32_t first_seq = data.has("seq") ? static_cast<uint32_t>(data.get("seq")->as_int()) : 0;
  slot.sensor->publish_state(1801.0f);
  p = last_on(BASE + "sensor/34/data");
  JsonValue data2;
  check(parse_payload(PayloadKind::SENSOR_DATA, p->payload, data2, error) &&
            data2.get("seq")->as_int() == first_seq + 1,
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
  const char *config = CONFIG_7;
  send(ao, "config", config, 100000);
  const Published *ack = last_on(BASE + "config/ack");
  JsonValue v;
  ProtoError error;
  if (check(ack != nullptr && ack->retain, "config/ack published, retained") &&
      check(parse_payload(PayloadKind::CONFIG_ACK, ack->payload, v, error), "ack valid: " + ack->payload)) {
    const auto &results = v.get("results")->items();
    check(v.get("version")->as_int() == 7 && !v.get("ok")->as_bool() && results.size() == 3, "ack: version 7, not all ok");
    check(results[0].get("ok")->as_bool(), "sensor 34 applied (analog read, type ph)");
    check(!results[1].get("ok")->as_bool() && sget(results[1], "error") == "bad_config",
          "sensor 4 not in this firmware: bad_config");
    check(results[2].get("ok")->as_bool(), "actuator 16 applied");
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
  JsonValue status;
  check(last_status(12, status) && sget(status, "reason") == "config" && !status.get("state")->as_bool(),
        "actuator 12 not listed: safe state, reason config");
  send(ao, "actuator/12/command", R"({"v":1,"action":"on"})", 101000);
  check(ao_probe()["fan"] == 0.0f && last_status(12, status) && sget(status, "refused") == "unknown_gpio",
        "unlisted actuator refuses commands");
  // The pushed max_runtime 5 s is enforced.
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 102000);
  ao->tick(107000);
  check(ao_probe()["pump"] == 0.0f && last_status(16, status) && sget(status, "reason") == "max_runtime",
        "pushed max_runtime 5 s enforced");
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
}

// Every payload vector of a kind the device receives goes through handle_message on its topic:
// accepted ones are not counted as rejected, rejected ones are (with the vector's error).
void test_received_vectors(AutomationOneComponent *ao, const std::string &dir) {
  std::string text;
  ao_test::read_file(dir + "/protocol/payloads.json", text);
  JsonError err;
  JsonValue doc = json_parse(text, err, 64);
  int n = 0;
  for (const auto &vec : doc.get("vectors")->items()) {
    std::string kind = sget(vec, "kind");
    std::string payload = sget(vec, "payload");
    bool ok = vec.get("expect")->get("ok")->as_bool();
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
    check(ao->rejected_messages() == rejected + (ok ? 0 : 1), "component " + kind + " vector '" + sget(vec, "name") + "'");
  }
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
// MQTT payloads into handle_message, the emergency on the broadcast topic, link changes through
// set_link; checked against the status the component publishes and the level it writes.
void test_timelines_through_component(const std::string &dir) {
  std::string text;
  if (!ao_test::read_file(dir + "/safety/timelines.json", text)) {
    printf("component timelines: not present, skipped\n");
    return;
  }
  JsonError err;
  JsonValue doc = json_parse(text, err, 64);
  AutomationOneComponent *saved = global_automationone;
  int vectors = 0;
  for (const auto &vec : doc.get("vectors")->items()) {
    vectors++;
    const JsonValue &act = *vec.get("actuator");
    std::string name = sget(vec, "name");
    int gpio = static_cast<int>(act.get("gpio")->as_int());
    bool pwm = sget(act, "type") == "pwm";
    ActuatorLimits limits;
    limits.pwm = pwm;
    auto get = [&act](const char *key) { return act.has(key) ? static_cast<uint32_t>(act.get(key)->as_int()) : 0u; };
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
      comp->add_binary_actuator(gpio, sget(act, "type"), binary, limits);
    }
    std::vector<Published> published;
    comp->set_publish_hook([&published](const std::string &topic, const std::string &payload, uint8_t qos, bool retain) {
      published.push_back(Published{topic, payload, qos, retain});
    });
    comp->setup();  // boots at millis_64(): the vector's clock starts after that
    const uint64_t base = esphome::millis_64() + 1000;
    comp->set_link(true, base);
    const std::string status_topic = BASE + "actuator/" + std::to_string(gpio) + "/status";
    auto last_status_of = [&](JsonValue &out) {
      for (auto it = published.rbegin(); it != published.rend(); ++it) {
        if (it->topic == status_topic) {
          ProtoError error;
          return parse_payload(PayloadKind::ACTUATOR_STATUS, it->payload, out, error);
        }
      }
      return false;
    };
    for (const auto &step : vec.get("steps")->items()) {
      uint64_t t = base + static_cast<uint64_t>(std::llround(step.get("t")->as_double() * 1000.0));
      std::string what = "component timeline '" + name + "' t=" + step.get("t")->dump();
      JsonValue status;
      if (const JsonValue *cmd = step.get("command")) {
        published.clear();
        comp->handle_message(BASE + "actuator/" + std::to_string(gpio) + "/command", cmd->dump(), t);
        const JsonValue *refused = step.get("refused");
        if (!check(last_status_of(status), what + ": a status answers the command"))
          continue;
        if (refused == nullptr || refused->is_null()) {
          check(!status.has("refused"), what + ": accepted");
        } else {
          check(sget(status, "refused") == refused->as_string(), what + ": refused " + refused->as_string());
          if (const JsonValue *until = step.get("until_s"))
            check(status.has("until_s") && std::fabs(status.get("until_s")->as_double() - until->as_double()) < 1e-6,
                  what + ": until_s");
        }
      } else if (const JsonValue *link = step.get("link")) {
        comp->set_link(link->as_string() == "up", t);
      } else if (const JsonValue *em = step.get("emergency")) {
        comp->handle_message("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"" + em->as_string() + "\"}", t);
      } else if (const JsonValue *expect = step.get("expect")) {
        comp->tick(t);
        if (!check(last_status_of(status), what + ": a status was published"))
          continue;
        int64_t value = expect->get("value")->as_int();
        check(status.get("state")->as_bool() == expect->get("state")->as_bool() &&
                  status.get("value")->as_int() == value && sget(status, "reason") == sget(*expect, "reason"),
              what + ": published state/value/reason");
        if (expect->has("activations"))
          check(status.get("activations")->as_int() == expect->get("activations")->as_int(), what + ": activations");
        if (pwm) {
          check(std::fabs(level->level - static_cast<float>(value) / 255.0f) < 1e-6, what + ": pwm level written");
        } else {
          check(binary->on == (value > 0), what + ": output written");
        }
      }
    }
  }
  global_automationone = saved;
  printf("component timelines: %d vectors through handle_message, statuses and outputs\n", vectors);
}

// Second run on the same preferences file: the config pushed in the first run is back at boot.
void test_after_reboot(AutomationOneComponent *ao) {
  check(ao->config_version() == 7 && ao->heartbeat_interval() == 30000, "after reboot: config version 7 restored");
  const SensorSlot &slot = ao->sensor_slots()[0];
  check(slot.processed_mode && slot.poller->get_update_interval() == 5000, "after reboot: sensor settings restored");
  check(ao->bank().find(16)->limits().max_runtime_s == 5, "after reboot: pushed pump limits restored");
  JsonValue status;
  send(ao, "actuator/12/command", R"({"v":1,"action":"on"})", 1000);
  check(ao_probe()["fan"] == 0.0f && last_status(12, status) && sget(status, "refused") == "unknown_gpio",
        "after reboot: the actuator the config left out stays disabled");
  send(ao, "actuator/16/command", R"({"v":1,"action":"on"})", 2000);
  ao->tick(7000);
  check(ao_probe()["pump"] == 0.0f && last_status(16, status) && sget(status, "reason") == "max_runtime",
        "after reboot: restored max_runtime 5 s enforced before any broker contact");
}

}  // namespace

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : "../tests/vectors";
  bool after_reboot = argc > 2 && std::string(argv[2]) == "--after-reboot";
  if (!after_reboot) {
    ao_test::run_topic_vectors(dir);
    ao_test::run_payload_vectors(dir);
    ao_test::run_builder_vectors(dir);
    ao_test::run_timeline_vectors(dir);
  }

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
