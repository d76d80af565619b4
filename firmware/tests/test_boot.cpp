// The power-up sequence (a1/boot.h) on the POSIX HAL with a manual clock: what a board does
// after a power cut when the router is still booting, and the set-up portal's rules.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <string.h>

#include <string>

#include "a1/boot.h"
#include "a1/device.h"
#include "posix_hal.h"

using namespace a1;
using a1::posix::FakeMqtt;
using a1::posix::PosixBoard;

namespace {
// What the device stored before the power cut: a pump with limits, an inverted relay, a pH probe
// every 2 s (raw) and a DS18B20 every 10 s (processed on the device).
const char *kStoredConfig =
    "{\"v\":1,\"version\":3,\"sensors\":["
    "{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":2000},"
    "{\"gpio\":4,\"type\":\"ds18b20\",\"interval_ms\":10000,\"mode\":\"processed\"}],"
    "\"actuators\":["
    "{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":30,\"cooldown_s\":60,\"failsafe_s\":20},"
    "{\"gpio\":19,\"type\":\"relay\",\"inverted\":true}]}";

struct PowerUp {
  FakeMqtt mqtt;
  PosixBoard board{true, "boot-test", mqtt};
  Hal hal = board.hal();
  DeviceOptions options;
  BootOptions boot_options;
  Device *device = nullptr;
  Boot *boot = nullptr;

  explicit PowerUp(bool stored_config = true) {
    this->board.system.set_quiet(true);
    this->board.clock.set_unix_base(1795000000000ULL);
    this->options.esp_id = "esp-boot";
    this->boot_options.button_gpio = 0;  // BOOT button of the DevKit
    if (stored_config) {
      this->board.storage.save("config", reinterpret_cast<const uint8_t *>(kStoredConfig), strlen(kStoredConfig));
    }
    // Power cut: no WiFi, no broker.
    this->board.wifi.set_connected(false);
    this->mqtt.set_accept(false);
    this->board.gpio.force_input(0, 1);  // button released (pull-up)
  }
  ~PowerUp() {
    delete this->boot;
    delete this->device;
  }
  void power_on() {
    this->device = new Device(this->hal, this->options);
    this->boot = new Boot(this->hal, *this->device, this->board.network, this->boot_options);
    REQUIRE(this->boot->setup());
  }
  void run(uint64_t ms, uint64_t step = 100) {
    for (uint64_t t = 0; t < ms; t += step) {
      this->board.clock.advance(step);
      this->boot->loop();
    }
  }
  void network_returns() {
    this->board.wifi.set_connected(true);
    this->mqtt.set_accept(true);
  }
  void network_lost() {
    this->board.wifi.set_connected(false);
    this->mqtt.drop();
    this->mqtt.set_accept(false);
  }
  std::string last(const char *suffix) {
    std::string topic = std::string("kaiser/god/esp/esp-boot/") + suffix;
    const FakeMqtt::Msg *m = this->mqtt.last(topic.c_str());
    return m == nullptr ? std::string() : std::string(m->payload, m->len);
  }
};

uint64_t field_u64(const std::string &payload, const char *key) {
  size_t at = payload.find(std::string("\"") + key + "\":");
  return at == std::string::npos ? 0 : strtoull(payload.c_str() + at + strlen(key) + 3, nullptr, 10);
}
}  // namespace

TEST_CASE("power-up without network: safe pins and the stored config first, 10 minutes offline, then the network returns") {
  PowerUp p;
  p.power_on();
  // Right after setup(): pins driven to their safe level, the stored config applied.
  CHECK(p.board.gpio.is_output(5));
  CHECK_FALSE(p.board.gpio.level(5));  // pump off
  CHECK(p.board.gpio.is_output(19));
  CHECK(p.board.gpio.level(19));  // inverted relay off = high
  CHECK(p.device->config_version() == 3);
  REQUIRE(p.device->actuator(5) != nullptr);
  CHECK(p.device->actuator(5)->reason() == Reason::kBoot);
  CHECK(p.boot->config_applied_ms() == p.boot->setup_start_ms());  // no waiting on anything
  CHECK(p.board.network.station_starts() == 1);
  CHECK_FALSE(p.boot->portal_open());

  // 10 simulated minutes without WiFi: sensing and buffering go on, nothing restarts.
  p.run(10 * 60 * 1000);
  CHECK(p.board.system.restarts() == 0);
  CHECK(p.board.network.portal_opens() == 0);
  CHECK(p.mqtt.published() == 0);
  CHECK_FALSE(p.device->link_up());
  CHECK(p.device->stats().readings >= 300 + 60);
  CHECK(p.device->buffered() == Device::kBufferCapacity);  // the newest 128
  CHECK_FALSE(p.board.gpio.level(5));
  CHECK(p.board.gpio.level(19));

  // The router is back: the device connects, replays in order, takes a newer config.
  p.network_returns();
  p.run(100);
  CHECK(p.device->link_up());
  CHECK(p.last("status") == "online");
  int before = p.mqtt.published();
  p.run(600);  // 6 loop passes, 8 replays each: all still in the fake's window
  std::string first_replay;
  uint64_t last_seq = 0;
  uint64_t last_ts = 0;
  int replays = 0;
  int processed_replays = 0;
  for (int i = before; i < p.mqtt.published() && i < before + FakeMqtt::kKeep; i++) {
    const FakeMqtt::Msg &m = p.mqtt.at(i);
    std::string payload(m.payload, m.len);
    if (payload.find("\"replay\":true") == std::string::npos) continue;
    if (std::string(m.topic).find("/sensor/4/") != std::string::npos) {
      processed_replays++;
      CHECK(payload.find("\"value\":") != std::string::npos);  // computed on the device while offline
    }
    uint64_t seq = field_u64(payload, "seq");
    uint64_t ts = field_u64(payload, "ts");
    if (replays > 0) {
      CHECK(seq > last_seq);
      CHECK(ts >= last_ts);
    }
    CHECK(ts >= 1795000000000ULL);
    last_seq = seq;
    last_ts = ts;
    replays++;
  }
  CHECK(replays == 6 * Device::kReplayPerLoop);
  CHECK(processed_replays > 0);
  p.run(10000);
  CHECK(p.device->buffered() == 0);
  CHECK(p.device->stats().replayed == Device::kBufferCapacity);
  p.mqtt.inject("kaiser/god/esp/esp-boot/config",
                "{\"v\":1,\"version\":4,\"sensors\":[{\"gpio\":34,\"type\":\"ph\",\"interval_ms\":2000}],"
                "\"actuators\":[{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":30,\"cooldown_s\":60,\"failsafe_s\":20}]}");
  CHECK(p.device->config_version() == 4);
  CHECK(p.last("config/ack").find("\"version\":4,\"ok\":true") != std::string::npos);

  // Limits hold while the network is gone again: max runtime stops the pump offline.
  p.mqtt.inject("kaiser/god/esp/esp-boot/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  CHECK(p.board.gpio.level(5));
  p.network_lost();
  p.run(15000);
  CHECK(p.board.gpio.level(5));
  p.run(6000);
  CHECK_FALSE(p.board.gpio.level(5));  // link-loss fail-safe after 20 s
  CHECK(p.device->actuator(5)->reason() == Reason::kFailsafe);
  p.run(5 * 60 * 1000);
  CHECK(p.board.system.restarts() == 0);
  CHECK(p.device->buffered() == Device::kBufferCapacity);
}

TEST_CASE("offline: max runtime stops a running pump; after a power cut it comes up off") {
  PowerUp p;
  p.power_on();
  p.network_returns();
  p.run(1000);
  REQUIRE(p.device->link_up());
  p.mqtt.inject("kaiser/god/esp/esp-boot/config",
                "{\"v\":1,\"version\":5,\"sensors\":[],\"actuators\":[{\"gpio\":5,\"type\":\"pump\",\"max_runtime_s\":30}]}");
  p.mqtt.inject("kaiser/god/esp/esp-boot/actuator/5/command", "{\"v\":1,\"action\":\"on\"}");
  REQUIRE(p.board.gpio.level(5));
  p.network_lost();
  p.run(29000);
  CHECK(p.board.gpio.level(5));
  p.run(2000);
  CHECK_FALSE(p.board.gpio.level(5));
  CHECK(p.device->actuator(5)->reason() == Reason::kMaxRuntime);

  // Power cut with the pump on: the next boot drives it off before anything else.
  p.board.gpio.write(5, true);
  Device second(p.hal, p.options);
  Boot boot(p.hal, second, p.board.network, p.boot_options);
  REQUIRE(boot.setup());
  CHECK(second.config_version() == 5);
  CHECK_FALSE(p.board.gpio.level(5));
}

TEST_CASE("the stored WiFi unreachable: the portal never opens by itself") {
  PowerUp p;
  p.power_on();
  p.run(30 * 60 * 1000, 1000);
  CHECK(p.board.network.portal_opens() == 0);
  CHECK(p.board.system.restarts() == 0);
  CHECK(p.board.network.has_credentials());
}

TEST_CASE("no WiFi stored: the portal opens with the device's own password and closes after the timeout") {
  PowerUp p(false);
  p.board.network.set_credentials(false);
  p.boot_options.portal_timeout_s = 300;
  p.power_on();
  CHECK(p.boot->portal_open());
  CHECK(std::string(p.boot->portal_ssid()).rfind("AutomationOne-", 0) == 0);
  std::string password = p.boot->portal_password();
  CHECK(password.size() == Boot::kPasswordLen);
  CHECK(password.find_first_not_of("abcdefghjkmnpqrstuvwxyz23456789") == std::string::npos);
  CHECK(std::string(p.board.network.portal_password()) == password);
  CHECK(p.board.network.station_starts() == 0);

  // The device works while the portal is open (sensing continues).
  p.run(299 * 1000);
  CHECK(p.boot->portal_open());
  p.run(2000);
  CHECK_FALSE(p.boot->portal_open());
  CHECK_FALSE(p.board.network.portal_is_open());
  CHECK(p.board.system.restarts() == 0);
  CHECK(p.board.network.station_starts() == 0);  // nothing to join

  // The password is the device's: kept across boots, another device has another one.
  Device again(p.hal, p.options);
  Boot reboot(p.hal, again, p.board.network, p.boot_options);
  REQUIRE(reboot.setup());
  CHECK(std::string(reboot.portal_password()) == password);
  PowerUp other(false);
  other.board.network.set_credentials(false);
  other.power_on();
  CHECK(std::string(other.boot->portal_password()) != password);
}

TEST_CASE("set-up button: a long press after boot opens the portal; held from boot or short, nothing") {
  PowerUp p;
  p.board.gpio.force_input(0, 0);  // held while booting
  p.power_on();
  p.run(10000);
  CHECK_FALSE(p.boot->portal_open());  // not seen released since boot
  p.board.gpio.force_input(0, 1);
  p.run(500);
  p.board.gpio.force_input(0, 0);
  p.run(3000);
  p.board.gpio.force_input(0, 1);
  p.run(500);
  CHECK_FALSE(p.boot->portal_open());  // short press
  p.board.gpio.force_input(0, 0);
  p.run(5100);
  CHECK(p.boot->portal_open());
  CHECK(p.board.network.portal_opens() == 1);
  p.board.gpio.force_input(0, 1);
  int starts = p.board.network.station_starts();

  // Closing on timeout keeps the stored WiFi and joins it again; saving restarts into it.
  p.run(301 * 1000);
  CHECK_FALSE(p.boot->portal_open());
  CHECK(p.board.network.station_starts() == starts + 1);
  CHECK(p.board.system.restarts() == 0);
  p.board.gpio.force_input(0, 0);
  p.run(5100);
  REQUIRE(p.boot->portal_open());
  p.board.network.save();
  p.run(100);
  CHECK(p.board.system.restarts() == 1);
  CHECK_FALSE(p.board.network.portal_is_open());
}

TEST_CASE("a background connect: the loop goes on while it runs, no back-off until it fails") {
  PowerUp p;
  p.power_on();
  p.mqtt.set_connect_calls(30);  // 30 loop passes (3 s) per attempt
  p.network_returns();
  p.run(2900);
  CHECK_FALSE(p.device->link_up());
  CHECK(p.mqtt.connect_calls() == 29);  // asked every pass, the loop never waited
  CHECK(p.device->stats().readings > 0);
  p.run(100);
  CHECK(p.device->link_up());
  // A failed attempt backs off (1 s) before the next one starts.
  p.network_lost();
  p.board.wifi.set_connected(true);
  p.mqtt.set_connect_calls(1);
  int calls = p.mqtt.connect_calls();
  p.run(500);
  CHECK(p.mqtt.connect_calls() == calls + 1);
}
