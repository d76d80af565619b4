// Actuator safety on the device: own cases, plus tests/vectors/safety/timelines.json when present.
#include <doctest/doctest.h>
#include <math.h>
#include <string.h>

#include <string>

#include "a1/actuator.h"
#include "a1/messages.h"
#include "a1/protocol.h"
#include "vectors.h"

using namespace a1;

namespace {
JsonDoc g_doc;

// A fresh activation log per machine (a device has one for all its actuators).
ActivationLog &fresh_log() {
  static ActivationLog log;
  log = ActivationLog();
  return log;
}

ActuatorConfig pump(uint32_t max_runtime, uint32_t cooldown, uint32_t per_hour, uint32_t failsafe) {
  ActuatorConfig c;
  c.gpio = 5;
  c.type = ActuatorType::kPump;
  c.max_runtime_s = max_runtime;
  c.cooldown_s = cooldown;
  c.max_per_hour = per_hour;
  c.failsafe_s = failsafe;
  return c;
}

ActuatorCommand cmd(Action a, double duration = 0, int value = -1) {
  ActuatorCommand c;
  c.action = a;
  c.duration_s = duration;
  c.value = value;
  return c;
}

uint64_t s(double seconds) { return static_cast<uint64_t>(llround(seconds * 1000.0)); }
}  // namespace

TEST_CASE("boot in safe state, max runtime, cooldown") {
  ActuatorSafety a;
  a.configure(pump(30, 600, 0, 0), fresh_log(), 0, Reason::kBoot);
  CHECK_FALSE(a.on());
  CHECK(a.reason() == Reason::kBoot);
  CHECK(a.command(cmd(Action::kOn), s(0)).refused == Refusal::kNone);
  CHECK(a.on());
  a.tick(s(29.999));
  CHECK(a.on());
  a.tick(s(30));
  CHECK_FALSE(a.on());
  CHECK(a.reason() == Reason::kMaxRuntime);
  CommandResult r = a.command(cmd(Action::kOn), s(90));
  CHECK(r.refused == Refusal::kCooldown);
  CHECK(r.until_s == doctest::Approx(540));
  CHECK(a.command(cmd(Action::kOff), s(91)).refused == Refusal::kNone);  // off is always accepted
  CHECK(a.command(cmd(Action::kOn), s(630)).refused == Refusal::kNone);
  CHECK(a.activations() == 2);
  CHECK(a.runtime_s(s(630)) == doctest::Approx(30));
}

TEST_CASE("duration, pulse, on replaces the pending duration") {
  ActuatorSafety a;
  a.configure(pump(100, 0, 0, 0), fresh_log(), 0, Reason::kBoot);
  a.command(cmd(Action::kOn, 10), s(0));
  a.command(cmd(Action::kOn), s(5));  // no duration any more; same activation
  a.tick(s(20));
  CHECK(a.on());
  CHECK(a.activations() == 1);
  a.tick(s(100));  // max runtime from t=0, not restarted by the second on
  CHECK_FALSE(a.on());
  CHECK(a.reason() == Reason::kMaxRuntime);
  a.command(cmd(Action::kPulse, 2.5), s(200));
  a.tick(s(202.4));
  CHECK(a.on());
  a.tick(s(202.5));
  CHECK_FALSE(a.on());
  CHECK(a.reason() == Reason::kDuration);
}

TEST_CASE("max runtime wins over a longer duration") {
  ActuatorSafety a;
  a.configure(pump(30, 0, 0, 0), fresh_log(), 0, Reason::kBoot);
  a.command(cmd(Action::kPulse, 60), s(0));
  a.tick(s(45));
  CHECK_FALSE(a.on());
  CHECK(a.reason() == Reason::kMaxRuntime);
}

TEST_CASE("rate limit over a sliding hour") {
  ActuatorSafety a;
  a.configure(pump(0, 0, 2, 0), fresh_log(), 0, Reason::kBoot);
  CHECK(a.command(cmd(Action::kPulse, 1), s(0)).refused == Refusal::kNone);
  CHECK(a.command(cmd(Action::kPulse, 1), s(10)).refused == Refusal::kNone);
  CommandResult r = a.command(cmd(Action::kPulse, 1), s(20));
  CHECK(r.refused == Refusal::kRateLimit);
  CHECK(r.until_s == doctest::Approx(3580));
  CHECK(a.command(cmd(Action::kPulse, 1), s(3600)).refused == Refusal::kNone);
}

TEST_CASE("link loss fail-safe and emergency") {
  ActuatorConfig c = pump(0, 0, 0, 30);
  ActuatorSafety a;
  a.configure(c, fresh_log(), 0, Reason::kBoot);
  a.command(cmd(Action::kOn), s(0));
  a.link(false, s(10));
  a.tick(s(39.9));
  CHECK(a.on());
  a.tick(s(40));
  CHECK_FALSE(a.on());
  CHECK(a.reason() == Reason::kFailsafe);
  a.link(true, s(50));
  a.tick(s(60));
  CHECK_FALSE(a.on());  // stays until a new command
  CHECK(a.command(cmd(Action::kOn), s(61)).refused == Refusal::kNone);
  a.emergency(true, s(62));
  CHECK_FALSE(a.on());
  CHECK(a.reason() == Reason::kEmergency);
  CHECK(a.command(cmd(Action::kOn), s(63)).refused == Refusal::kEmergency);
  CHECK(a.command(cmd(Action::kOff), s(64)).refused == Refusal::kNone);
  a.emergency(false, s(65));
  CHECK_FALSE(a.on());  // nothing turns on by itself
  CHECK(a.command(cmd(Action::kOn), s(66)).refused == Refusal::kNone);
}

TEST_CASE("pwm set and safe_state") {
  ActuatorConfig c = pump(0, 0, 0, 5);
  c.type = ActuatorType::kPwm;
  c.safe_state = 40;
  ActuatorSafety a;
  a.configure(c, fresh_log(), 0, Reason::kBoot);
  CHECK(a.on());
  CHECK(a.value() == 40);
  a.command(cmd(Action::kSet, 0, 128), s(1));
  CHECK(a.value() == 128);
  a.command(cmd(Action::kSet, 0, 0), s(2));
  CHECK_FALSE(a.on());
  a.link(false, s(3));
  a.tick(s(8));
  CHECK(a.value() == 40);
  CHECK(a.reason() == Reason::kFailsafe);
}

TEST_CASE("what the device sends validates against the schemas") {
  char buf[4097];
  Reading r;
  r.gpio = 34;
  r.raw = 2048;
  size_t n = build_sensor_data(buf, sizeof(buf), 42, 1795000000123ULL, true, r);
  CHECK(std::string(buf) == "{\"v\":1,\"seq\":42,\"ts\":1795000000123,\"replay\":true,\"raw\":2048}");
  CHECK(validate_payload(PayloadKind::kSensorData, buf, n, g_doc).ok());
  Reading words[2];
  words[0].gpio = 21;
  words[0].nwords = 3;
  words[0].words[0] = 26214;
  words[0].words[1] = 40000;
  words[0].words[2] = 146;
  strcpy(words[0].addr, "0x44");
  words[1].gpio = 4;
  words[1].has_value = true;
  words[1].value = 21.5625;
  strcpy(words[1].unit, "\xC2\xB0" "C");
  n = build_sensor_batch(buf, sizeof(buf), 9, 0, false, words, 2);
  CHECK(validate_payload(PayloadKind::kSensorBatch, buf, n, g_doc).ok());
  CHECK(std::string(buf).find("\"value\":21.5625") != std::string::npos);

  AnnounceInfo ai{"esp-a1b2c3", "god", "Greenhouse 1", "esp32dev", "automationone", "0.1.0", "24:0A:C4:A1:B2:C3", 16, 16, true, 128, true};
  n = build_announce(buf, sizeof(buf), ai);
  CHECK(validate_payload(PayloadKind::kAnnounce, buf, n, g_doc).ok());

  HeartbeatInfo hb{3600, 180000, 150000, -61, 3, 0, 1795000000000ULL};
  n = build_heartbeat(buf, sizeof(buf), hb);
  CHECK(validate_payload(PayloadKind::kHeartbeat, buf, n, g_doc).ok());

  PinResult results[2] = {{true, 34, true, nullptr, ""}, {false, 6, false, "gpio_reserved", nullptr}};
  n = build_config_ack(buf, sizeof(buf), 3, results, 2);
  CHECK(std::string(buf) == "{\"v\":1,\"version\":3,\"ok\":false,\"results\":[{\"kind\":\"sensor\",\"gpio\":34,\"ok\":true},"
                            "{\"kind\":\"actuator\",\"gpio\":6,\"ok\":false,\"error\":\"gpio_reserved\"}]}");
  CHECK(validate_payload(PayloadKind::kConfigAck, buf, n, g_doc).ok());

  ActuatorStatusInfo st{false, 0, Reason::kMaxRuntime, Refusal::kCooldown, 540, "c-1", 30.0, 4, 1795000000000ULL};
  n = build_actuator_status(buf, sizeof(buf), st);
  CHECK(validate_payload(PayloadKind::kActuatorStatus, buf, n, g_doc).ok());
  CHECK(build_actuator_status(buf, 20, st) == 0);  // does not fit: nothing
}

// ---- shared timeline vectors (written by the safety-core engineer; run when present) ----

namespace {
std::string with_v(const cJSON *obj) {
  cJSON *copy = cJSON_Duplicate(obj, 1);
  if (cJSON_GetObjectItemCaseSensitive(copy, "v") == nullptr) cJSON_AddNumberToObject(copy, "v", 1);
  char *text = cJSON_PrintUnformatted(copy);
  std::string out(text);
  free(text);
  cJSON_Delete(copy);
  return out;
}
}  // namespace

TEST_CASE("safety timeline vectors") {
  cJSON *root = load_vectors("tests/vectors/safety/timelines.json");
  if (root == nullptr) {
    MESSAGE("tests/vectors/safety/timelines.json not present yet: skipped");
    return;
  }
  const cJSON *vectors = cJSON_GetObjectItemCaseSensitive(root, "vectors");
  if (vectors == nullptr && cJSON_IsArray(root)) vectors = root;
  REQUIRE(vectors != nullptr);
  int checked = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, vectors) {
    std::string name = json_str(v, "name");
    CAPTURE(name);
    cJSON *actuator = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(v, "actuator"), 1);
    if (cJSON_GetObjectItemCaseSensitive(actuator, "gpio") == nullptr) cJSON_AddNumberToObject(actuator, "gpio", 5);
    char *act_text = cJSON_PrintUnformatted(actuator);
    std::string config = std::string("{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[") + act_text + "]}";
    free(act_text);
    cJSON_Delete(actuator);
    static DeviceConfig cfg;
    Error err = parse_config(config.data(), config.size(), g_doc, cfg);
    REQUIRE_MESSAGE(err.ok(), error_name(err.code), " ", err.path);
    ActuatorSafety a;
    ActivationLog &log = fresh_log();
    a.configure(cfg.actuators[0], log, 0, Reason::kBoot);
    const cJSON *step;
    cJSON_ArrayForEach(step, cJSON_GetObjectItemCaseSensitive(v, "steps")) {
      double t = cJSON_GetObjectItemCaseSensitive(step, "t")->valuedouble;
      uint64_t now = s(t);
      CAPTURE(t);
      const cJSON *command = cJSON_GetObjectItemCaseSensitive(step, "command");
      const cJSON *link = cJSON_GetObjectItemCaseSensitive(step, "link");
      const cJSON *emergency = cJSON_GetObjectItemCaseSensitive(step, "emergency");
      const cJSON *expect = cJSON_GetObjectItemCaseSensitive(step, "expect");
      const cJSON *reconfig = cJSON_GetObjectItemCaseSensitive(step, "config");
      if (reconfig != nullptr) {
        // New limits pushed by a config: the same pin and type keep their state (as Device does).
        char *text = cJSON_PrintUnformatted(reconfig);
        std::string next = std::string("{\"v\":1,\"version\":2,\"sensors\":[],\"actuators\":[") + text + "]}";
        free(text);
        Error cerr = parse_config(next.data(), next.size(), g_doc, cfg);
        REQUIRE_MESSAGE(cerr.ok(), error_name(cerr.code), " ", cerr.path);
        const ActuatorConfig &n = cfg.actuators[0];
        if (n.gpio == a.config().gpio && n.type == a.config().type) {
          a.reconfigure(n, now);
        } else {
          a.to_safe(Reason::kConfig, now);
          a.configure(n, log, now, Reason::kConfig);
        }
      }
      if (command != nullptr) {
        std::string payload = with_v(command);
        ActuatorCommand c;
        Error perr = parse_actuator_command(payload.data(), payload.size(), g_doc, c);
        const cJSON *refused = cJSON_GetObjectItemCaseSensitive(step, "refused");
        std::string want = cJSON_IsString(refused) ? refused->valuestring : "";
        if (!perr.ok()) {
          CHECK(want == "invalid");
        } else {
          CommandResult r = a.command(c, now);
          CHECK(std::string(refusal_name(r.refused)) == want);
          const cJSON *until = cJSON_GetObjectItemCaseSensitive(step, "until_s");
          if (cJSON_IsNumber(until)) CHECK(r.until_s == doctest::Approx(until->valuedouble));
        }
      }
      if (link != nullptr) a.link(json_str(step, "link") == "up", now);
      if (emergency != nullptr) a.emergency(json_str(step, "emergency") == "stop", now);
      if (expect != nullptr) {
        a.tick(now);
        CHECK(a.on() == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "state")));
        const cJSON *value = cJSON_GetObjectItemCaseSensitive(expect, "value");
        if (cJSON_IsNumber(value)) CHECK(a.value() == value->valueint);
        std::string reason = json_str(expect, "reason");
        if (!reason.empty()) CHECK(std::string(reason_name(a.reason())) == reason);
        const cJSON *activations = cJSON_GetObjectItemCaseSensitive(expect, "activations");
        if (cJSON_IsNumber(activations)) CHECK(a.activations() == static_cast<uint32_t>(activations->valueint));
        const cJSON *runtime = cJSON_GetObjectItemCaseSensitive(expect, "runtime_s");
        if (cJSON_IsNumber(runtime)) CHECK(a.runtime_s(now) == doctest::Approx(runtime->valuedouble));
      }
      checked++;
    }
  }
  MESSAGE("safety timeline steps checked: " << checked);
  cJSON_Delete(root);
}

TEST_CASE("rate limits up to 3600 per hour are exact, with the real wait") {
  ActuatorSafety a;
  a.configure(pump(0, 0, 100, 0), fresh_log(), 0, Reason::kBoot);
  for (int i = 0; i < 100; i++) {
    CHECK(a.command(cmd(Action::kPulse, 1), s(2.0 * i)).refused == Refusal::kNone);
  }
  CommandResult r = a.command(cmd(Action::kPulse, 1), s(300));
  CHECK(r.refused == Refusal::kRateLimit);
  CHECK(r.until_s == doctest::Approx(3300));  // the oldest (t=0) leaves the hour at 3600
  CHECK(a.command(cmd(Action::kPulse, 1), s(3599.999)).refused == Refusal::kRateLimit);
  CHECK(a.command(cmd(Action::kPulse, 1), s(3600)).refused == Refusal::kNone);
}

TEST_CASE("a full activation log refuses rather than forgets") {
  ActivationLog &log = fresh_log();
  ActuatorSafety acts[2];
  ActuatorConfig c = pump(0, 0, 3600, 0);
  acts[0].configure(c, log, 0, Reason::kBoot);
  c.gpio = 6;
  acts[1].configure(c, log, 0, Reason::kBoot);
  int accepted = 0;
  for (int i = 0; i < 2 * 2100; i++) {
    ActuatorSafety &a = acts[i % 2];
    uint64_t now = static_cast<uint64_t>(i) * 100;
    if (a.command(cmd(Action::kOn), now).refused == Refusal::kNone) accepted++;
    a.command(cmd(Action::kOff), now + 50);
  }
  CHECK(accepted == ActivationLog::kCapacity);
  CommandResult r = acts[0].command(cmd(Action::kOn), 2 * 2100 * 100);
  CHECK(r.refused == Refusal::kRateLimit);
  CHECK(r.until_s == doctest::Approx(3600 - 420.0));  // until the oldest entry (t=0) leaves
}
