// The whole device on the POSIX HAL with an in-process MQTT fake and a manual clock.
#include <doctest/doctest.h>
#include <math.h>
#include <string.h>

#include <memory>
#include <string>
#include <vector>

#include "a1/device.h"
#include "posix_hal.h"
#include "vectors.h"

using namespace a1;
using a1::posix::FakeMqtt;
using a1::posix::PosixBoard;

namespace {
const char *kConfig =
    "{\"v\":1,\"version\":3,\"heartbeat_s\":30,\"sensors\":["
    "{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":5000},"
    "{\"gpio\":4,\"type\":\"ds18b20\",\"interval_ms\":20000,\"addr\":\"28ff641e8216c3a1\"},"
    "{\"gpio\":21,\"type\":\"sht31\",\"interval_ms\":20000,\"addr\":\"0x44\",\"scl\":22},"
    "{\"gpio\":25,\"type\":\"analog\",\"interval_ms\":5000},"
    "{\"gpio\":6,\"type\":\"analog\",\"interval_ms\":5000},"
    "{\"gpio\":37,\"type\":\"analog\",\"interval_ms\":5000},"
    "{\"gpio\":35,\"type\":\"laser\",\"interval_ms\":5000},"
    "{\"gpio\":34,\"type\":\"soil\",\"interval_ms\":5000}],"
    "\"actuators\":["
    "{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":30,\"cooldown_s\":60,\"failsafe_s\":20},"
    "{\"gpio\":18,\"type\":\"pwm\"},"
    "{\"gpio\":35,\"type\":\"relay\"},"
    "{\"gpio\":21,\"type\":\"relay\"}]}";

struct Rig {
  FakeMqtt mqtt;
  PosixBoard board{true, "dev-test", mqtt};
  Hal hal = board.hal();
  std::unique_ptr<Device> dev;
  explicit Rig(const char *esp_id = "esp-test") {
    this->board.system.set_quiet(true);
    this->board.clock.set_unix_base(1795000000000ULL);
    DeviceOptions o;
    o.esp_id = esp_id;
    o.board = "esp32dev";
    this->dev.reset(new Device(this->hal, o));
  }
  void run(uint64_t ms, uint64_t step = 100) {
    for (uint64_t t = 0; t < ms; t += step) {
      this->board.clock.advance(step);
      this->dev->loop();
    }
  }
  std::string last(const char *suffix) {
    std::string topic = std::string("kaiser/god/esp/esp-test/") + suffix;
    const FakeMqtt::Msg *m = this->mqtt.last(topic.c_str());
    return m == nullptr ? std::string() : std::string(m->payload, m->len);
  }
};
}  // namespace

TEST_CASE("connect: LWT, announce retained, status online, subscriptions") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  CHECK(rig.dev->link_up());
  CHECK(std::string(rig.mqtt.will_topic) == "kaiser/god/esp/esp-test/status");
  std::string announce = rig.last("announce");
  CHECK(announce.find("\"esp_id\":\"esp-test\"") != std::string::npos);
  CHECK(announce.find("\"fw\":\"automationone\"") != std::string::npos);
  CHECK(rig.mqtt.last("kaiser/god/esp/esp-test/announce")->retain);
  CHECK(rig.last("status") == "online");
  CHECK(rig.mqtt.subscriptions() == 6);
  CHECK(rig.last("heartbeat").find("\"uptime_s\":") != std::string::npos);
}

TEST_CASE("default esp_id from the MAC") {
  Rig rig("");
  REQUIRE(rig.dev->setup());
  CHECK(std::string(rig.dev->esp_id()).rfind("esp-", 0) == 0);
  CHECK(strlen(rig.dev->esp_id()) == 10);
}

TEST_CASE("config intake: per-pin results against the board table, persisted, restored at boot") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config", kConfig);
  std::string ack = rig.last("config/ack");
  INFO(ack);
  CHECK(ack.find("\"version\":3,\"ok\":false") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":34,\"ok\":true}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":4,\"addr\":\"28ff641e8216c3a1\",\"ok\":true}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":21,\"addr\":\"0x44\",\"ok\":true}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":25,\"ok\":false,\"error\":\"gpio_adc2_wifi\"}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":6,\"ok\":false,\"error\":\"gpio_reserved\"}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":37,\"ok\":false,\"error\":\"gpio_invalid\"}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":35,\"ok\":false,\"error\":\"type_unsupported\"}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"sensor\",\"gpio\":34,\"ok\":false,\"error\":\"gpio_in_use\"}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"actuator\",\"gpio\":5,\"ok\":true}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"actuator\",\"gpio\":18,\"ok\":true}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"actuator\",\"gpio\":35,\"ok\":false,\"error\":\"gpio_input_only\"}") != std::string::npos);
  CHECK(ack.find("{\"kind\":\"actuator\",\"gpio\":21,\"ok\":false,\"error\":\"gpio_in_use\"}") != std::string::npos);
  CHECK(rig.dev->config_version() == 3);
  CHECK(rig.board.storage.saves() == 1);
  CHECK(rig.last("actuator/5/status").find("\"reason\":\"config\"") != std::string::npos);

  // A second device with the same storage boots into the stored config (reason boot).
  FakeMqtt mqtt2;
  DeviceOptions o;
  o.esp_id = "esp-test";
  Hal hal2 = rig.hal;
  hal2.mqtt = &mqtt2;
  Device second(hal2, o);
  REQUIRE(second.setup());
  CHECK(second.config_version() == 3);
  REQUIRE(second.actuator(5) != nullptr);
  CHECK(second.actuator(5)->reason() == Reason::kBoot);
}

TEST_CASE("bad config is rejected whole with the vector's code and path") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config", "{\"v\":1,\"version\":1,\"sensors\":[]}");
  CHECK(rig.dev->stats().rejected == 1);
  CHECK(rig.dev->stats().last_error == ErrorCode::kMissingField);
  CHECK(std::string(rig.dev->stats().last_error_path) == "actuators");
  CHECK(rig.last("config/ack").empty());
}

TEST_CASE("readings, offline buffer replayed in order with their timestamps") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":1,\"sensors\":[{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":2000}],\"actuators\":[]}");
  rig.run(10000);
  std::string data = rig.last("sensor/34/data");
  CHECK(data.find("\"raw\":") != std::string::npos);
  CHECK(data.find("\"replay\"") == std::string::npos);
  CHECK(data.find("\"ts\":17950000") != std::string::npos);

  rig.mqtt.drop();
  rig.board.wifi.set_connected(false);
  rig.run(300 * 1000);  // 150 readings while offline; the buffer keeps the newest 128
  CHECK(rig.dev->buffered() == Device::kBufferCapacity);
  rig.board.wifi.set_connected(true);
  int before = rig.mqtt.published();
  rig.run(10000);
  CHECK(rig.dev->buffered() == 0);
  // Replayed readings: in order, replay:true, timestamps increasing by the interval.
  uint64_t last_ts = 0;
  int replays = 0;
  int first = rig.mqtt.published() - FakeMqtt::kKeep;
  for (int i = before > first ? before : first; i < rig.mqtt.published(); i++) {
    const FakeMqtt::Msg &m = rig.mqtt.at(i);
    std::string p(m.payload, m.len);
    if (p.find("\"replay\":true") == std::string::npos) continue;
    size_t at = p.find("\"ts\":");
    uint64_t ts = strtoull(p.c_str() + at + 5, nullptr, 10);
    if (replays > 0) CHECK(ts == last_ts + 2000);
    last_ts = ts;
    replays++;
  }
  CHECK(replays >= 50);  // the fake keeps the last 64 messages
  CHECK(rig.dev->stats().replayed == Device::kBufferCapacity);
}

TEST_CASE("a reading whose publish fails (link died unnoticed) is buffered and replayed; seq has no gap") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":1,\"sensors\":[{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":2000}],\"actuators\":[]}");
  rig.run(5000);
  int before = rig.mqtt.published();
  rig.mqtt.fail_publishes(true);  // the socket is dead; the transport has not noticed yet
  rig.run(6000);                  // 3 readings refused by the transport
  CHECK(rig.dev->buffered() == 3);
  rig.mqtt.fail_publishes(false);
  rig.run(4100);
  CHECK(rig.dev->buffered() == 0);
  // Every sensor message since: seq +1 each, the refused readings replayed with their times.
  long last_seq = -1;
  int replays = 0;
  for (int i = before; i < rig.mqtt.published(); i++) {
    const FakeMqtt::Msg &m = rig.mqtt.at(i);
    if (strstr(m.topic, "/sensor/") == nullptr) continue;
    const char *at = strstr(m.payload, "\"seq\":");
    REQUIRE(at != nullptr);
    long seq = strtol(at + 6, nullptr, 10);
    if (last_seq >= 0) CHECK(seq == last_seq + 1);
    last_seq = seq;
    if (strstr(m.payload, "\"replay\":true") != nullptr) replays++;
  }
  CHECK(replays == 3);
  CHECK(rig.dev->stats().replayed == 3);
}

namespace {
struct SensorMsg {
  std::string topic;
  long seq;
  uint64_t ts;
  bool resend;
  bool replay;
  uint32_t readings;
};

uint32_t count_raw(const char *payload) {
  uint32_t n = 0;
  for (const char *p = strstr(payload, "\"raw\":"); p != nullptr; p = strstr(p + 1, "\"raw\":")) n++;
  return n;
}

std::vector<SensorMsg> sensor_messages(const FakeMqtt &mqtt, int from) {
  std::vector<SensorMsg> out;
  int first = mqtt.published() - FakeMqtt::kKeep;
  for (int i = from > first ? from : first; i < mqtt.published(); i++) {
    const FakeMqtt::Msg &m = mqtt.at(i);
    if (strstr(m.topic, "/sensor/") == nullptr) continue;
    const char *seq = strstr(m.payload, "\"seq\":");
    const char *ts = strstr(m.payload, "\"ts\":");
    REQUIRE(seq != nullptr);
    REQUIRE(ts != nullptr);
    out.push_back({m.topic, strtol(seq + 6, nullptr, 10), strtoull(ts + 5, nullptr, 10),
                   strstr(m.payload, "\"resend\":true") != nullptr, strstr(m.payload, "\"replay\":true") != nullptr,
                   count_raw(m.payload)});
  }
  return out;
}

// docs/protocol.md "Duplicates, replays, floods": what was handed to the client within 2 s
// before the device found the link down is sent again after the reconnect, message by message
// under its own seq, with replay and resend; older messages are not; new ones go on after the
// highest seq.
void check_resend(const char *config, const char *topic_part, uint64_t step) {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config", config);
  int start = rig.mqtt.published();
  rig.run(10050, step);
  std::vector<SensorMsg> before = sensor_messages(rig.mqtt, start);
  REQUIRE(before.size() >= 4);
  // The device finds the link down on its next pass.
  uint64_t dropped_at = 1795000000000ULL + rig.board.clock.millis() + step;
  int mark = rig.mqtt.published();
  rig.mqtt.drop();
  rig.run(3000, step);  // reconnects at once (the fake accepts), then runs on
  std::vector<SensorMsg> after = sensor_messages(rig.mqtt, mark);
  std::vector<SensorMsg> resent;
  for (const SensorMsg &m : after) {
    if (m.resend) resent.push_back(m);
  }
  // The messages of the last 2 s before the drop, and only those.
  size_t expected = 0;
  for (const SensorMsg &m : before) expected += m.ts + Device::kResendWindowMs >= dropped_at ? 1 : 0;
  REQUIRE(expected >= 1);
  REQUIRE(expected < before.size());
  REQUIRE(resent.size() == expected);
  for (size_t i = 0; i < resent.size(); i++) {
    const SensorMsg &original = before[before.size() - expected + i];
    CHECK(resent[i].seq == original.seq);
    CHECK(resent[i].ts == original.ts);
    CHECK(resent[i].topic == original.topic);
    CHECK(resent[i].topic.find(topic_part) != std::string::npos);
    CHECK(resent[i].replay);
  }
  // Sent first after the reconnect, and no seq taken by them.
  REQUIRE(after.size() > resent.size());
  CHECK(after[0].resend);
  long next = before.back().seq + 1;
  for (const SensorMsg &m : after) {
    if (m.resend) continue;
    CHECK(m.seq == next);
    CHECK_FALSE(m.replay);
    next++;
  }
  uint32_t resent_readings = 0;
  for (const SensorMsg &m : resent) resent_readings += m.readings;
  CHECK(rig.dev->stats().resent == resent_readings);
  // A second loss, with the link down for 3 s: only what was sent within 2 s before it goes
  // again (never a message already sent again); what was sampled meanwhile is replayed under
  // new seqs.
  rig.run(5000, step);
  mark = rig.mqtt.published();
  uint64_t second_drop = 1795000000000ULL + rig.board.clock.millis() + step;
  rig.mqtt.drop();
  rig.board.wifi.set_connected(false);
  rig.run(3000, step);
  rig.board.wifi.set_connected(true);
  rig.run(3000, step);
  size_t again = 0;
  uint32_t again_readings = 0;
  for (const SensorMsg &m : sensor_messages(rig.mqtt, mark)) {
    if (!m.resend) continue;
    again++;
    again_readings += m.readings;
    CHECK(m.ts + Device::kResendWindowMs >= second_drop);
    for (const SensorMsg &r : resent) CHECK(m.seq != r.seq);
  }
  CHECK(again >= 1);
  CHECK(rig.dev->stats().resent == resent_readings + again_readings);
}
}  // namespace

TEST_CASE("a message sent within 2 s before a link loss is sent again under its seq (single readings)") {
  check_resend(
      "{\"v\":1,\"version\":1,\"sensors\":[{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":2000}],\"actuators\":[]}",
      "/sensor/34/data", 100);
}

TEST_CASE("a message sent within 2 s before a link loss is sent again under its seq (batches)") {
  check_resend(
      "{\"v\":1,\"version\":1,\"sensors\":[{\"gpio\":34,\"type\":\"analog\",\"interval_ms\":2000},"
      "{\"gpio\":35,\"type\":\"analog\",\"interval_ms\":2000}],\"actuators\":[]}",
      "/sensor/batch", 500);  // both sensors due in one pass: one batch
}

TEST_CASE("commands, refusals, unknown gpio, link-loss fail-safe and emergency over MQTT") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":2,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":30,"
                  "\"cooldown_s\":60,\"failsafe_s\":20},{\"gpio\":18,\"type\":\"pwm\",\"inverted\":true}]}");
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\",\"cmd_id\":\"c-1\"}");
  CHECK(rig.board.gpio.level(5));
  CHECK(rig.last("actuator/5/status").find("\"state\":true,\"value\":255,\"reason\":\"command\"") != std::string::npos);
  CHECK(rig.last("actuator/5/status").find("\"cmd_id\":\"c-1\"") != std::string::npos);
  rig.run(30000);
  CHECK_FALSE(rig.board.gpio.level(5));
  CHECK(rig.last("actuator/5/status").find("\"reason\":\"max_runtime\"") != std::string::npos);
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  CHECK(rig.last("actuator/5/status").find("\"refused\":\"cooldown\"") != std::string::npos);
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/9/command", "{\"v\":1,\"action\":\"on\"}");
  CHECK(rig.last("actuator/9/status").find("\"refused\":\"unknown_gpio\"") != std::string::npos);
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/18/command", "{\"v\":1,\"action\":\"set\",\"value\":300}");
  CHECK(rig.last("actuator/18/status").find("\"refused\":\"invalid\"") != std::string::npos);
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/18/command", "{\"v\":1,\"action\":\"set\",\"value\":200}");
  CHECK(rig.board.pwm.duty_of_pin(18) == 55);  // inverted output

  rig.run(60000);
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  CHECK(rig.board.gpio.level(5));
  rig.mqtt.drop();
  rig.mqtt.set_accept(false);
  rig.run(19000);
  CHECK(rig.board.gpio.level(5));
  rig.run(1100);
  CHECK_FALSE(rig.board.gpio.level(5));  // fail-safe after 20 s without the broker
  REQUIRE(rig.dev->actuator(5) != nullptr);
  CHECK(rig.dev->actuator(5)->reason() == Reason::kFailsafe);
  rig.mqtt.set_accept(true);
  rig.run(40000);
  CHECK(rig.dev->link_up());
  CHECK_FALSE(rig.board.gpio.level(5));

  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/18/command", "{\"v\":1,\"action\":\"set\",\"value\":100}");
  rig.mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"stop\",\"reason\":\"test\"}");
  CHECK(rig.board.pwm.duty_of_pin(18) == 255);  // safe state 0, inverted
  CHECK(rig.last("actuator/18/status").find("\"reason\":\"emergency\"") != std::string::npos);
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/18/command", "{\"v\":1,\"action\":\"set\",\"value\":100}");
  CHECK(rig.last("actuator/18/status").find("\"refused\":\"emergency\"") != std::string::npos);
  rig.mqtt.inject("kaiser/other/broadcast/emergency", "{\"v\":1,\"action\":\"clear\"}");  // not our kaiser
  CHECK(rig.dev->actuator(18)->in_emergency());
  rig.mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"clear\"}");
  CHECK_FALSE(rig.dev->actuator(18)->in_emergency());
}

TEST_CASE("per-device emergency: own topic and kaiser broadcast, each cleared on its own topic") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":2,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"pump\"}]}");
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  REQUIRE(rig.board.gpio.level(5));
  rig.mqtt.inject("kaiser/god/esp/esp-other/emergency", "{\"v\":1,\"action\":\"stop\"}");  // another device
  CHECK(rig.board.gpio.level(5));
  rig.mqtt.inject("kaiser/god/esp/esp-test/emergency", "{\"v\":1,\"action\":\"stop\",\"reason\":\"leak\"}");
  CHECK_FALSE(rig.board.gpio.level(5));
  CHECK(rig.last("actuator/5/status").find("\"reason\":\"emergency\"") != std::string::npos);
  rig.mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"stop\"}");
  rig.mqtt.inject("kaiser/god/esp/esp-test/emergency", "{\"v\":1,\"action\":\"clear\"}");
  CHECK(rig.dev->actuator(5)->in_emergency());  // the broadcast still says stop
  rig.mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"clear\"}");
  CHECK_FALSE(rig.dev->actuator(5)->in_emergency());
  CHECK_FALSE(rig.board.gpio.level(5));  // nothing turns on by itself
  rig.mqtt.inject("kaiser/god/esp/esp-test/emergency", "{\"v\":1,\"action\":\"stop\"}");
  rig.mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"clear\"}");
  CHECK(rig.dev->actuator(5)->in_emergency());  // a broadcast clear does not clear the device's stop
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  CHECK(rig.last("actuator/5/status").find("\"refused\":\"emergency\"") != std::string::npos);
}

TEST_CASE("system commands") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/system/command", "{\"v\":1,\"cmd\":\"restart\"}");
  CHECK(rig.board.system.restarts() == 1);
  rig.mqtt.inject("kaiser/god/esp/esp-test/system/command", "{\"v\":1,\"cmd\":\"ota\"}");
  CHECK(rig.dev->stats().last_error == ErrorCode::kMissingField);
}

TEST_CASE("board tables are generated from boards.json") {
  cJSON *root = load_vectors("custom_components/automationone/gpio/boards.json");
  REQUIRE(root != nullptr);
  const cJSON *boards = cJSON_GetObjectItemCaseSensitive(root, "boards");
  CHECK(board_count() == cJSON_GetArraySize(boards));
  const cJSON *b;
  cJSON_ArrayForEach(b, boards) {
    const BoardInfo *info = find_board(b->string);
    REQUIRE(info != nullptr);
    const cJSON *pins = cJSON_GetObjectItemCaseSensitive(b, "pins");
    CHECK(info->pin_count == cJSON_GetArraySize(pins));
    const cJSON *p;
    cJSON_ArrayForEach(p, pins) {
      const PinInfo *pin = find_pin(*info, atoi(p->string));
      REQUIRE(pin != nullptr);
      CHECK(((pin->flags & kPinInputOnly) != 0) == cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "input_only")));
      const cJSON *adc1 = cJSON_GetObjectItemCaseSensitive(p, "adc1");
      CHECK(pin->adc1 == (cJSON_IsNumber(adc1) ? adc1->valueint : -1));
    }
  }
  cJSON_Delete(root);
  // Datasheet facts the table must keep.
  const BoardInfo *esp32 = find_board("esp32dev");
  CHECK(find_pin(*esp32, 6)->reserved == kResFlash);
  CHECK((find_pin(*esp32, 34)->flags & kPinInputOnly) != 0);
  CHECK(find_pin(*esp32, 36)->adc1 == 0);
  CHECK(find_pin(*esp32, 4)->adc2 == 0);
  CHECK(find_pin(*esp32, 20) == nullptr);
  const BoardInfo *c3 = find_board("seeed_xiao_esp32c3");
  CHECK(find_pin(*c3, 2)->adc1 == 2);
  CHECK((find_pin(*c3, 9)->flags & kPinStrapping) != 0);
  CHECK(find_pin(*c3, 0) == nullptr);
}

TEST_CASE("DS18B20 and SHT31 readings: raw words with valid CRCs, processed values") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":1,\"sensors\":["
                  "{\"gpio\":4,\"type\":\"ds18b20\",\"interval_ms\":5000},"
                  "{\"gpio\":13,\"type\":\"ds18b20\",\"interval_ms\":5000,\"mode\":\"processed\"},"
                  "{\"gpio\":21,\"type\":\"sht31\",\"interval_ms\":5000,\"scl\":22},"
                  "{\"gpio\":25,\"type\":\"sht31\",\"interval_ms\":5000,\"scl\":26,\"addr\":\"0x45\",\"mode\":\"processed\"}],"
                  "\"actuators\":[]}");
  CHECK(rig.last("config/ack").find("\"ok\":true") != std::string::npos);
  rig.run(6000);
  JsonDoc &doc = *new JsonDoc();
  std::string ds = rig.last("sensor/4/data");
  REQUIRE(validate_payload(PayloadKind::kSensorData, ds.data(), ds.size(), doc).ok());
  int raw = doc.find(0, "raw");
  REQUIRE(doc.tok(raw).count() == 5);
  uint8_t pad[9];
  for (int i = 0; i < 4; i++) {
    uint16_t w = static_cast<uint16_t>(doc.num(doc.item(raw, i)));
    pad[2 * i] = static_cast<uint8_t>(w & 0xFF);
    pad[2 * i + 1] = static_cast<uint8_t>(w >> 8);
  }
  pad[8] = static_cast<uint8_t>(doc.num(doc.item(raw, 4)));
  CHECK(dallas_crc8(pad, 8) == pad[8]);
  double celsius = static_cast<int16_t>(pad[0] | pad[1] << 8) / 16.0;
  CHECK(celsius > 18.0);
  CHECK(celsius < 26.0);
  std::string processed = rig.last("sensor/13/data");
  CHECK(processed.find("\"unit\":\"\xC2\xB0" "C\"") != std::string::npos);
  std::string sht = rig.last("sensor/21/data");
  REQUIRE(validate_payload(PayloadKind::kSensorData, sht.data(), sht.size(), doc).ok());
  raw = doc.find(0, "raw");
  REQUIRE(doc.tok(raw).count() == 3);
  uint16_t t = static_cast<uint16_t>(doc.num(doc.item(raw, 0)));
  uint16_t crcs = static_cast<uint16_t>(doc.num(doc.item(raw, 2)));
  const uint8_t tb[2] = {static_cast<uint8_t>(t >> 8), static_cast<uint8_t>(t & 0xFF)};
  CHECK(sht31_crc8(tb, 2) == (crcs >> 8));
  // Processed SHT31: one reading per quantity, temperature first, humidity with `quantity`
  // (both in one message: readings of one loop pass share a batch).
  std::string both = rig.last("sensor/batch");
  REQUIRE(validate_payload(PayloadKind::kSensorBatch, both.data(), both.size(), doc).ok());
  int readings = doc.find(0, "readings");
  int temp = -1, hum = -1;
  for (int i = 0; i < doc.tok(readings).count(); i++) {
    int item = doc.item(readings, i);
    if (doc.num(doc.find(item, "gpio")) != 25) continue;
    if (doc.find(item, "quantity") < 0) temp = item;
    if (doc.str_eq(doc.find(item, "quantity"), "humidity")) hum = item;
  }
  REQUIRE(temp >= 0);
  REQUIRE(hum >= 0);
  CHECK(doc.num(doc.find(temp, "value")) > 18.0);  // ~23 degC
  CHECK(doc.num(doc.find(temp, "value")) < 26.0);
  CHECK(doc.str_eq(doc.find(hum, "unit"), "%"));
  CHECK(doc.num(doc.find(hum, "value")) >= 0.0);
  CHECK(doc.num(doc.find(hum, "value")) <= 100.0);
  CHECK(doc.find(temp, "quality") < 0);
  delete &doc;
}

TEST_CASE("a new config: unchanged actuators keep running, a pin taken by a sensor stops its actuator") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"pump\"},{\"gpio\":18,\"type\":\"relay\"}]}");
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/18/command", "{\"v\":1,\"action\":\"on\"}");
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":2,\"sensors\":[{\"gpio\":18,\"type\":\"digital\",\"interval_ms\":5000}],"
                  "\"actuators\":[{\"gpio\":5,\"type\":\"pump\"},{\"gpio\":18,\"type\":\"relay\"}]}");
  CHECK(rig.board.gpio.level(5));  // unchanged: still on
  CHECK(rig.dev->actuator(5)->reason() == Reason::kCommand);
  CHECK(rig.dev->actuator(18) == nullptr);  // its pin went to the sensor
  CHECK_FALSE(rig.board.gpio.level(18));
  CHECK(rig.last("config/ack").find("{\"kind\":\"actuator\",\"gpio\":18,\"ok\":false,\"error\":\"gpio_in_use\"}") !=
        std::string::npos);
  CHECK(rig.last("actuator/18/status").find("\"reason\":\"config\"") != std::string::npos);
}

TEST_CASE("on-device processing: pH from the pushed proc, compensated by the device's DS18B20") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":1,\"actuators\":[],\"sensors\":["
                  "{\"gpio\":4,\"type\":\"ds18b20\",\"interval_ms\":60000},"  // one temperature in the run
                  "{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":5000,\"mode\":\"processed\",\"proc\":{\"kind\":\"ph\","
                  "\"adc\":\"esp32_11db\",\"k\":[298.15,1500,-177.5],\"cal\":false,\"temp\":4,\"unit\":\"pH\"}}]}");
  CHECK(rig.last("config/ack").find("\"ok\":true") != std::string::npos);
  rig.run(11000);  // pH at 0.2 s (no temperature yet), 5.2 s and 10.2 s (with the DS18B20's)
  double celsius = 0;
  REQUIRE(rig.dev->sensors().temperature(4, celsius));
  JsonDoc &doc = *new JsonDoc();
  std::string batch = rig.last("sensor/batch");
  std::string single = rig.last("sensor/34/data");
  const std::string &msg = batch.find("\"gpio\":34") != std::string::npos ? batch : single;
  REQUIRE(validate_payload(batch == msg ? PayloadKind::kSensorBatch : PayloadKind::kSensorData, msg.data(), msg.size(),
                           doc)
              .ok());
  int reading = batch == msg ? -1 : 0;
  for (int i = 0; reading < 0 && i < doc.tok(doc.find(0, "readings")).count(); i++) {
    int item = doc.item(doc.find(0, "readings"), i);
    if (doc.num(doc.find(item, "gpio")) == 34) reading = item;
  }
  REQUIRE(reading >= 0);
  CHECK(doc.str_eq(doc.find(reading, "unit"), "pH"));
  CHECK(doc.str_eq(doc.find(reading, "quality"), "uncalibrated"));
  CHECK(doc.find(reading, "raw") < 0);
  // The same count through the evaluator with that temperature gives the value sent.
  Processing p;
  p.kind = ProcKind::kPh;
  p.k[0] = 298.15, p.k[1] = 1500, p.k[2] = -177.5;
  p.nk = 3;
  p.calibrated = false;
  double value = doc.num(doc.find(reading, "value"));
  bool matched = false;
  for (int count = 1; count < 4095 && !matched; count++) {
    ProcResult r = process_reading(p, count, true, celsius);
    matched = fabs(r.value - value) < 5e-5;  // the value is written with 4 decimals
  }
  CHECK(matched);
  delete &doc;
}

TEST_CASE("a limit change keeps the actuator's state, runtime and activations; a type change resets it") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":100}]}");
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  rig.run(2000);
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":2,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":200,"
                  "\"cooldown_s\":60}]}");
  const ActuatorSafety *a = rig.dev->actuator(5);
  REQUIRE(a != nullptr);
  CHECK(a->on());
  CHECK(rig.board.gpio.level(5));
  CHECK(a->reason() == Reason::kCommand);
  CHECK(a->activations() == 1);
  CHECK(a->config().max_runtime_s == 200);
  CHECK(rig.last("actuator/5/status").find("\"activations\":1") != std::string::npos);
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":3,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"valve\"}]}");
  a = rig.dev->actuator(5);
  REQUIRE(a != nullptr);
  CHECK_FALSE(a->on());
  CHECK_FALSE(rig.board.gpio.level(5));
  CHECK(a->reason() == Reason::kConfig);
  CHECK(a->activations() == 0);
}

TEST_CASE("log lines keep their separators") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  rig.mqtt.inject("kaiser/god/esp/esp-test/config", "{\"v\":1,\"version\":1,\"sensors\":[]}");
  CHECK(std::string(rig.board.system.last_log()) == "rejected: missing_field at actuators");
  rig.mqtt.inject("kaiser/god/broadcast/emergency", "{\"v\":1,\"action\":\"clear\",\"reason\":\"done\"}");
  CHECK(std::string(rig.board.system.last_log()) == "emergency clear: done");
}

namespace {
const char *kLogin =
    "{\"v\":1,\"cmd\":\"login\",\"username\":\"a1-esp-test-1\",\"password\":\"0123456789abcdefXYZ\","
    "\"port\":8883,\"ca\":\"-----BEGIN CERTIFICATE-----\\nMIIB\\n-----END CERTIFICATE-----\\n\"}";
}  // namespace

TEST_CASE("login: accepted, stored, announced; survives a restart") {
  Rig r;
  REQUIRE(r.dev->setup());
  r.run(200);
  REQUIRE(r.dev->link_up());
  CHECK(r.last("announce").find("\"login\"") == std::string::npos);  // the set-up login: none
  r.mqtt.set_broker_logins("", "a1-esp-test-1");
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kLogin);
  CHECK(r.dev->login_switching());
  r.run(500);
  REQUIRE(r.dev->link_up());
  CHECK(!r.dev->login_switching());
  CHECK(std::string(r.mqtt.password) == "0123456789abcdefXYZ");
  CHECK(r.mqtt.port == 8883);
  CHECK(std::string(r.mqtt.ca).find("BEGIN CERTIFICATE") != std::string::npos);
  std::string announce = r.last("announce");
  CHECK(announce.find("\"login\":\"a1-esp-test-1\"") != std::string::npos);
  CHECK(announce.find("login_error") == std::string::npos);
  CHECK(announce.find("0123456789abcdef") == std::string::npos);  // never the password
  // A restart (same storage): the device logs in with the stored login at once.
  Device again(r.hal, DeviceOptions{"god", "esp-test", "esp32dev"});
  r.mqtt.set_login(nullptr, nullptr, nullptr, 0);
  REQUIRE(again.setup());
  CHECK(std::string(r.mqtt.username() ? r.mqtt.username() : "") == "a1-esp-test-1");
}

TEST_CASE("login: refused by the broker -> back to the old login, login_error refused") {
  Rig r;
  REQUIRE(r.dev->setup());
  r.run(200);
  REQUIRE(r.dev->link_up());
  r.mqtt.set_broker_logins("");  // the broker knows only the set-up login
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kLogin);
  r.run(3000);
  REQUIRE(r.dev->link_up());
  CHECK(!r.dev->login_switching());
  CHECK(r.mqtt.username() == nullptr);
  std::string announce = r.last("announce");
  CHECK(announce.find("\"login_error\":\"refused\"") != std::string::npos);
  CHECK(announce.find("\"login\"") == std::string::npos);
}

TEST_CASE("login: no answer within 30 s -> timeout, old login; a deleted login falls back") {
  Rig r;
  REQUIRE(r.dev->setup());
  r.run(200);
  r.mqtt.set_broker_logins("", "a1-esp-test-1");
  r.mqtt.set_accept(false);  // the network is gone while switching
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kLogin);
  r.run(31000);
  CHECK(!r.dev->login_switching());
  CHECK(std::string(r.dev->login_error()) == "timeout");
  r.mqtt.set_accept(true);
  r.run(35000);
  REQUIRE(r.dev->link_up());
  CHECK(r.mqtt.username() == nullptr);
  // Switch for real, then the broker deletes the new login: after 3 refusals, the fallback.
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kLogin);
  r.run(1000);
  REQUIRE(r.dev->link_up());
  REQUIRE(std::string(r.mqtt.username()) == "a1-esp-test-1");
  r.mqtt.set_broker_logins("");
  r.mqtt.drop();
  r.run(120000);
  REQUIRE(r.dev->link_up());
  CHECK(r.mqtt.username() == nullptr);
}

// ---- moving to another broker (docs/protocol.md "Moving to another broker") ----

namespace {
const char *kMove = "{\"v\":1,\"cmd\":\"move\",\"kaiser_id\":\"gh1\",\"host\":\"relay.lan\",\"port\":1884}";
std::string last_on(FakeMqtt &mqtt, const char *topic) {
  const FakeMqtt::Msg *m = mqtt.last(topic);
  return m == nullptr ? std::string() : std::string(m->payload, m->len);
}
}  // namespace

TEST_CASE("move: the new broker and root, will included; stored; a restart comes up there") {
  Rig r;
  REQUIRE(r.dev->setup());
  r.run(200);
  REQUIRE(r.dev->link_up());
  CHECK(r.last("announce").find("\"move\":true") != std::string::npos);  // caps.move
  r.mqtt.inject("kaiser/god/esp/esp-test/config",
                "{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"pump\"}]}");
  r.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  int subs = r.mqtt.subscriptions();
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kMove);
  CHECK(r.dev->moving());
  CHECK(std::string(r.dev->kaiser_id()) == "gh1");
  r.run(500);
  REQUIRE(r.dev->link_up());
  CHECK(!r.dev->moving());
  CHECK(std::string(r.mqtt.host) == "relay.lan");
  CHECK(r.mqtt.broker_port == 1884);
  CHECK(std::string(r.mqtt.will_topic) == "kaiser/gh1/esp/esp-test/status");
  CHECK(r.mqtt.subscriptions() > subs);
  std::string announce = last_on(r.mqtt, "kaiser/gh1/esp/esp-test/announce");
  CHECK(announce.find("\"kaiser_id\":\"gh1\"") != std::string::npos);
  CHECK(announce.find("move_error") == std::string::npos);
  CHECK(last_on(r.mqtt, "kaiser/gh1/esp/esp-test/status") == "online");
  CHECK(r.dev->actuator(5)->on());  // the pump ran through the move
  CHECK(last_on(r.mqtt, "kaiser/gh1/esp/esp-test/actuator/5/status").find("\"state\":true") != std::string::npos);
  // A restart (same storage): the device comes up on the moved-to broker and root at once.
  FakeMqtt fresh;
  PosixBoard board{true, "dev-test", fresh};
  board.storage = r.board.storage;
  Hal hal = board.hal();
  Device again(hal, DeviceOptions{"god", "esp-test", "esp32dev"});
  REQUIRE(again.setup());
  CHECK(std::string(again.kaiser_id()) == "gh1");
  CHECK(std::string(fresh.host) == "relay.lan");
  CHECK(fresh.broker_port == 1884);
  // Back to the main broker without a host: the set-up one.
  r.mqtt.inject("kaiser/gh1/esp/esp-test/system/command", "{\"v\":1,\"cmd\":\"move\",\"kaiser_id\":\"god\"}");
  r.run(500);
  REQUIRE(r.dev->link_up());
  CHECK(std::string(r.dev->kaiser_id()) == "god");
  CHECK(std::string(r.mqtt.host).empty());
  CHECK(r.mqtt.broker_port == 0);
  CHECK(std::string(r.mqtt.will_topic) == "kaiser/god/esp/esp-test/status");
}

TEST_CASE("move: refused or no answer within 30 s -> back where it was, move_error") {
  Rig r;
  REQUIRE(r.dev->setup());
  r.run(200);
  snprintf(r.mqtt.refusing_host, sizeof(r.mqtt.refusing_host), "relay.lan");
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kMove);
  r.run(3000);
  REQUIRE(r.dev->link_up());
  CHECK(!r.dev->moving());
  CHECK(std::string(r.dev->kaiser_id()) == "god");
  CHECK(std::string(r.mqtt.host).empty());
  CHECK(std::string(r.mqtt.will_topic) == "kaiser/god/esp/esp-test/status");
  CHECK(r.last("announce").find("\"move_error\":\"refused\"") != std::string::npos);
  CHECK(last_on(r.mqtt, "kaiser/gh1/esp/esp-test/announce").empty());

  r.mqtt.refusing_host[0] = '\0';
  r.mqtt.set_accept(false);  // nobody answers there
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kMove);
  r.run(29000);
  CHECK(r.dev->moving());
  r.run(2000);
  CHECK(!r.dev->moving());
  CHECK(std::string(r.dev->move_error()) == "timeout");
  r.mqtt.set_accept(true);
  r.run(1000);
  REQUIRE(r.dev->link_up());
  CHECK(std::string(r.dev->kaiser_id()) == "god");
  CHECK(r.last("announce").find("\"move_error\":\"timeout\"") != std::string::npos);
  // Nothing was stored: a restart stays on the set-up broker.
  Device again(r.hal, DeviceOptions{"god", "esp-test", "esp32dev"});
  REQUIRE(again.setup());
  CHECK(std::string(again.kaiser_id()) == "god");
}

TEST_CASE("move: busy during a login switch, a no-op where it is, unsupported transports") {
  Rig r;
  REQUIRE(r.dev->setup());
  r.run(200);
  int announces = r.mqtt.published();
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", "{\"v\":1,\"cmd\":\"move\",\"kaiser_id\":\"god\"}");
  CHECK(!r.dev->moving());
  CHECK(r.mqtt.published() == announces + 1);  // only a fresh announce
  CHECK(r.last("announce").find("move_error") == std::string::npos);

  r.mqtt.set_accept(false);
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kLogin);
  REQUIRE(r.dev->login_switching());
  r.mqtt.set_accept(true);
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kMove);
  CHECK(!r.dev->moving());
  CHECK(std::string(r.dev->move_error()) == "busy");
  r.run(1000);
  REQUIRE(r.dev->link_up());
  CHECK(!r.dev->login_switching());
  // and a login while a move is tried
  r.mqtt.set_accept(false);
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kMove);
  REQUIRE(r.dev->moving());
  r.mqtt.inject("kaiser/gh1/esp/esp-test/system/command", kLogin);  // below the root it moves to
  CHECK(!r.dev->login_switching());
  CHECK(std::string(r.dev->login_error()) == "busy");
  r.mqtt.set_accept(true);
  r.run(1000);
  REQUIRE(r.dev->link_up());
  CHECK(std::string(r.dev->kaiser_id()) == "gh1");

  Rig plain;
  plain.mqtt.broker_supported = false;
  REQUIRE(plain.dev->setup());
  plain.run(200);
  plain.mqtt.inject("kaiser/god/esp/esp-test/system/command", kMove);
  CHECK(!plain.dev->moving());
  CHECK(std::string(plain.dev->kaiser_id()) == "god");
  CHECK(plain.last("announce").find("\"move_error\":\"unsupported\"") != std::string::npos);
}

TEST_CASE("move: the 30 s end waits for a background connect, then goes back") {
  Rig r;
  REQUIRE(r.dev->setup());
  r.run(200);
  REQUIRE(r.dev->link_up());
  r.mqtt.set_accept(false);
  r.mqtt.set_connect_calls(400);  // one attempt outlasts the 30 s (40 s at 100 ms a pass)
  r.mqtt.inject("kaiser/god/esp/esp-test/system/command", kMove);
  r.run(31000);
  CHECK(r.dev->moving());  // the board's transport would refuse a broker change now
  r.mqtt.set_connect_calls(1);
  r.run(10000);
  CHECK(!r.dev->moving());
  CHECK(std::string(r.dev->move_error()) == "timeout");
  CHECK(std::string(r.mqtt.host).empty());
  r.mqtt.set_accept(true);
  r.run(2000);
  REQUIRE(r.dev->link_up());
  CHECK(std::string(r.mqtt.will_topic) == "kaiser/god/esp/esp-test/status");
}

TEST_CASE("next_due_ms: the earliest heartbeat, sample or actuator timer; now while the link is down") {
  Rig rig;
  REQUIRE(rig.dev->setup());
  rig.dev->loop();
  REQUIRE(rig.dev->link_up());
  uint64_t now = rig.board.clock.millis();
  uint64_t due = rig.dev->next_due_ms();
  CHECK(due > now);  // heartbeat sent at connect; nothing else is scheduled
  rig.mqtt.inject("kaiser/god/esp/esp-test/config",
                  "{\"v\":1,\"version\":2,\"heartbeat_s\":30,\"sensors\":[{\"gpio\":34,\"type\":\"analog\","
                  "\"interval_ms\":5000}],\"actuators\":[{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":3}]}");
  rig.run(200);
  now = rig.board.clock.millis();
  due = rig.dev->next_due_ms();
  CHECK(due > now);
  CHECK(due <= now + 5000);  // the next sample, before the heartbeat
  rig.mqtt.inject("kaiser/god/esp/esp-test/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  REQUIRE(rig.board.gpio.level(5));
  CHECK(rig.dev->next_due_ms() <= now + 3000);  // max runtime, unless a sample comes first
  // Step to each due time the device names: the pump stops on time, none is skipped.
  for (int i = 0; i < 20 && rig.board.gpio.level(5); i++) {
    uint64_t step = rig.dev->next_due_ms() - rig.board.clock.millis();
    rig.run(step, step);
  }
  CHECK_FALSE(rig.board.gpio.level(5));
  CHECK(rig.board.clock.millis() == now + 3000);
  CHECK(rig.last("actuator/5/status").find("\"reason\":\"max_runtime\"") != std::string::npos);
  rig.mqtt.drop();
  rig.mqtt.set_accept(false);
  rig.dev->loop();
  CHECK_FALSE(rig.dev->link_up());
  CHECK(rig.dev->next_due_ms() == rig.board.clock.millis());  // reconnecting: poll
}
