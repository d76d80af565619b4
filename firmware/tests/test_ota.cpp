// Firmware updates in the core (a1/ota.h) on the POSIX HAL: an image served from memory,
// the checks a board makes, and the device's ota/status reports (docs/protocol.md).
#include <doctest/doctest.h>
#include <string.h>

#include <memory>
#include <string>

#include "a1/device.h"
#include "a1/sha256.h"
#include "posix_hal.h"

using namespace a1;
using a1::posix::FakeMqtt;
using a1::posix::PosixBoard;
using a1::posix::PosixFirmware;

namespace {
std::string sha256_hex(const std::string &data) {
  Sha256 sha;
  sha.update(reinterpret_cast<const uint8_t *>(data.data()), data.size());
  char hex[65];
  sha.finish_hex(hex);
  return hex;
}

std::string sim_image(const char *board, const char *version, size_t body) {
  std::string image = std::string("A1-SIM-IMAGE board=") + board + " version=" + version + "\n";
  for (size_t i = 0; i < body; i++) image.push_back(static_cast<char>(i * 7));
  return image;
}

// The simulated partition of PosixFirmware, with the download served from memory.
class MemoryFirmware : public PosixFirmware {
 public:
  std::string image;
  int http_status = 200;
  bool announce_length = true;
  size_t stall_after = SIZE_MAX;  // stop sending after this many bytes (no end)
  size_t chunk = 700;
  size_t off = 0;
  int opens = 0;

  OtaError open(const char *url, uint32_t &size) override {
    (void)url;
    this->opens++;
    this->off = 0;
    size = this->announce_length ? static_cast<uint32_t>(this->image.size()) : 0;
    if (this->http_status != 200) {
      this->set_detail("http status ", this->http_status);
      return OtaError::kDownloadFailed;
    }
    return OtaError::kNone;
  }
  int read(uint8_t *buf, size_t cap) override {
    if (this->off >= this->stall_after) return 0;
    if (this->off >= this->image.size()) return kEnd;
    size_t n = this->image.size() - this->off;
    if (n > cap) n = cap;
    if (n > this->chunk) n = this->chunk;
    memcpy(buf, this->image.data() + this->off, n);
    this->off += n;
    return static_cast<int>(n);
  }
};

struct OtaRig {
  FakeMqtt mqtt;
  PosixBoard board{true, "dev-ota", mqtt};
  MemoryFirmware firmware;
  Hal hal = board.hal();
  std::unique_ptr<Device> dev;
  OtaRig() {
    this->board.system.set_quiet(true);
    this->hal.firmware = &this->firmware;
    DeviceOptions o;
    o.esp_id = "esp-ota";
    o.board = "esp32dev";
    this->dev.reset(new Device(this->hal, o));
    REQUIRE(this->dev->setup());
    this->dev->loop();
    this->firmware.image = sim_image("esp32dev", "0.2.0", 20000);
  }
  void command(const std::string &sha, const char *extra = "") {
    std::string cmd = std::string("{\"v\":1,\"cmd\":\"ota\",\"url\":\"http://192.0.2.1/fw.bin\",\"cmd_id\":\"ota-1\"") +
                      (sha.empty() ? "" : ",\"sha256\":\"" + sha + "\"") + extra + "}";
    this->mqtt.inject("kaiser/god/esp/esp-ota/system/command", cmd.c_str());
  }
  void run(int passes) {
    for (int i = 0; i < passes; i++) {
      this->board.clock.advance(10);
      this->dev->loop();
    }
  }
  std::string status(int n = 0) {
    const FakeMqtt::Msg *m = this->mqtt.last("kaiser/god/esp/esp-ota/ota/status", n);
    return m == nullptr ? std::string() : std::string(m->payload, m->len);
  }
};
}  // namespace

TEST_CASE("sha256: FIPS 180-4 examples, streamed in pieces") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(sha256_hex(two) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  Sha256 sha;
  std::string million(1000000, 'a');
  for (size_t i = 0; i < million.size(); i += 997) {
    size_t n = million.size() - i < 997 ? million.size() - i : 997;
    sha.update(reinterpret_cast<const uint8_t *>(million.data() + i), n);
  }
  char hex[65];
  sha.finish_hex(hex);
  CHECK(std::string(hex) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("ota: download, verify, installed, restart into the new image") {
  OtaRig rig;
  rig.mqtt.inject("kaiser/god/esp/esp-ota/config",
                  "{\"v\":1,\"version\":1,\"sensors\":[],\"actuators\":[{\"gpio\":26,\"type\":\"pump\"}]}");
  rig.mqtt.inject("kaiser/god/esp/esp-ota/actuator/26/command", "{\"v\":1,\"action\":\"on\"}");
  REQUIRE(rig.dev->actuator(26)->on());
  std::string extra = ",\"board\":\"esp32dev\",\"version\":\"0.2.0\",\"size\":" + std::to_string(rig.firmware.image.size());
  rig.command(sha256_hex(rig.firmware.image), extra.c_str());
  CHECK(rig.status() == "{\"v\":1,\"state\":\"downloading\",\"progress\":0,\"version\":\"0.2.0\",\"cmd_id\":\"ota-1\"}");
  rig.run(1);  // the 96-byte header, then 7 chunks of 700 bytes: 4996 of 20042 bytes
  CHECK(rig.status().find("\"progress\":24") != std::string::npos);
  CHECK(rig.dev->actuator(26)->on());  // the loop keeps running during the download
  rig.run(5);
  CHECK(rig.status() == "{\"v\":1,\"state\":\"installed\",\"progress\":100,\"version\":\"0.2.0\",\"cmd_id\":\"ota-1\"}");
  CHECK(std::string(rig.firmware.installed_version()) == "0.2.0");
  CHECK(rig.firmware.written() == rig.firmware.image.size());
  CHECK_FALSE(rig.dev->actuator(26)->on());  // safe state before the reboot
  CHECK(rig.board.system.restarts() == 0);  // the result goes out first
  rig.run(Device::kOtaRestartDelayMs / 10 + 1);
  CHECK(rig.board.system.restarts() == 1);
}

TEST_CASE("ota: refusals before the download leave everything as it was") {
  struct Case {
    const char *name;
    bool with_sha;
    const char *extra;
    const char *error;
  };
  const Case cases[] = {
      {"no checksum", false, "", "no_checksum"},
      {"other board in the command", true, ",\"board\":\"seeed_xiao_esp32c3\"", "board_mismatch"},
      {"larger than the partition", true, ",\"size\":2000000", "too_large"},
  };
  for (const Case &c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    OtaRig rig;
    if (std::string(c.error) == "too_large") rig.firmware.image = sim_image("esp32dev", "0.2.0", 2000000 - 42);
    rig.command(c.with_sha ? sha256_hex(rig.firmware.image) : "", c.extra);
    std::string status = rig.status();
    CHECK(status.find("\"state\":\"failed\"") != std::string::npos);
    CHECK(status.find(std::string("\"error\":\"") + c.error + "\"") != std::string::npos);
    rig.run(10);
    CHECK(rig.firmware.installed_version()[0] == '\0');
    CHECK(rig.board.system.restarts() == 0);
  }
}

TEST_CASE("ota: checks on the downloaded image") {
  struct Case {
    const char *name;
    const char *error;
    const char *detail;
  };
  const Case cases[] = {
      {"wrong checksum", "checksum_mismatch", "got "},
      {"image for another board", "board_mismatch", "image for seeed_xiao_esp32c3"},
      {"not an image", "bad_image", "no A1-SIM-IMAGE header"},
      {"http error", "download_failed", "http status 404"},
      {"stalled download", "download_failed", "timeout"},
      {"shorter than announced", "size_mismatch", "got 20041"},
      {"tiny image, no header", "bad_image", ""},
  };
  for (const Case &c : cases) {
    std::string name = c.name;
    CAPTURE(name);
    OtaRig rig;
    std::string sha = sha256_hex(rig.firmware.image);
    const char *extra = "";
    if (name == "wrong checksum") sha[0] = sha[0] == '0' ? '1' : '0';
    if (name == "image for another board") rig.firmware.image = sim_image("seeed_xiao_esp32c3", "0.2.0", 100);
    if (name == "not an image") rig.firmware.image = std::string(5000, '\xe9');
    if (name == "http error") rig.firmware.http_status = 404;
    if (name == "stalled download") rig.firmware.stall_after = 4000;
    if (name == "shorter than announced") {
      rig.firmware.announce_length = false;
      extra = ",\"size\":20042";
      rig.firmware.image.pop_back();
    }
    if (name == "tiny image, no header") rig.firmware.image = "A1";
    if (name != "wrong checksum") sha = sha256_hex(rig.firmware.image);
    rig.command(sha, extra);
    rig.run(10);
    if (name == "stalled download") {
      CHECK(rig.status().find("downloading") != std::string::npos);
      rig.board.clock.advance(OtaUpdate::kStallMs);
      rig.run(1);
    }
    std::string status = rig.status();
    CHECK(status.find("\"state\":\"failed\"") != std::string::npos);
    CHECK(status.find(std::string("\"error\":\"") + c.error + "\"") != std::string::npos);
    CHECK(status.find(std::string("\"detail\":\"") + c.detail) != std::string::npos);
    CHECK(rig.firmware.installed_version()[0] == '\0');
    rig.run(Device::kOtaRestartDelayMs / 10 + 1);
    CHECK(rig.board.system.restarts() == 0);  // the old firmware keeps running
  }
}

TEST_CASE("ota: a second command while downloading is refused as busy; the first goes on") {
  OtaRig rig;
  std::string sha = sha256_hex(rig.firmware.image);
  rig.command(sha);
  rig.run(1);
  rig.mqtt.inject("kaiser/god/esp/esp-ota/system/command",
                  ("{\"v\":1,\"cmd\":\"ota\",\"url\":\"http://192.0.2.1/x\",\"cmd_id\":\"ota-2\",\"sha256\":\"" + sha + "\"}").c_str());
  CHECK(rig.status() == "{\"v\":1,\"state\":\"failed\",\"progress\":0,\"error\":\"busy\",\"cmd_id\":\"ota-2\"}");
  rig.run(10);
  CHECK(rig.status().find("\"state\":\"installed\"") != std::string::npos);
  CHECK(rig.status().find("ota-1") != std::string::npos);
  CHECK(rig.firmware.opens == 1);
  // Installed and waiting for the restart: still busy.
  rig.command(sha);
  CHECK(rig.status().find("\"error\":\"busy\"") != std::string::npos);
  CHECK(rig.firmware.opens == 1);
}

TEST_CASE("ota: without a firmware HAL the device says unsupported") {
  FakeMqtt mqtt;
  PosixBoard board{true, "dev-ota", mqtt};
  board.system.set_quiet(true);
  Hal hal = board.hal();
  hal.firmware = nullptr;
  DeviceOptions o;
  o.esp_id = "esp-ota";
  Device dev(hal, o);
  REQUIRE(dev.setup());
  dev.loop();
  mqtt.inject("kaiser/god/esp/esp-ota/system/command",
              "{\"v\":1,\"cmd\":\"ota\",\"url\":\"http://192.0.2.1/x\",\"sha256\":"
              "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}");
  const FakeMqtt::Msg *m = mqtt.last("kaiser/god/esp/esp-ota/ota/status");
  REQUIRE(m != nullptr);
  CHECK(std::string(m->payload, m->len).find("\"error\":\"unsupported\"") != std::string::npos);
}

// The shared vectors of tests/vectors/protocol/ota.json: the firmware parses the ota command's
// fields as documented and builds each accepted ota_status payload byte for byte.
#include "vectors.h"

namespace {
OtaState state_from(const std::string &s) {
  if (s == "downloading") return OtaState::kDownloading;
  if (s == "installed") return OtaState::kInstalled;
  return OtaState::kFailed;
}
OtaError error_from(const std::string &s) {
  for (int i = 1; i <= static_cast<int>(OtaError::kUnsupported); i++) {
    if (s == ota_error_name(static_cast<OtaError>(i))) return static_cast<OtaError>(i);
  }
  return OtaError::kNone;
}
}  // namespace

TEST_CASE("ota vectors: command fields and ota_status payloads") {
  cJSON *root = load_vectors("tests/vectors/protocol/ota.json");
  REQUIRE(root != nullptr);
  const cJSON *v;
  int built = 0, parsed = 0;
  JsonDoc doc;
  cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(root, "vectors")) {
    std::string name = json_str(v, "name"), kind = json_str(v, "kind"), payload = json_str(v, "payload");
    CAPTURE(name);
    const cJSON *expect = cJSON_GetObjectItemCaseSensitive(v, "expect");
    const cJSON *value = cJSON_GetObjectItemCaseSensitive(expect, "value");
    bool ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(expect, "ok"));
    if (kind == "system_command") {
      SystemCommand cmd;
      Error err = parse_system_command(payload.data(), payload.size(), doc, cmd);
      if (ok) {
        REQUIRE(err.ok());
        CHECK(std::string(cmd.sha256) == json_str(value, "sha256"));
        CHECK(std::string(cmd.board) == json_str(value, "board"));
        CHECK(std::string(cmd.version) == json_str(value, "version"));
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(value, "size");
        CHECK(cmd.size == (cJSON_IsNumber(size) ? static_cast<uint32_t>(size->valuedouble) : 0u));
      } else {
        CHECK(std::string(error_name(err.code)) == json_str(expect, "error"));
        CHECK(std::string(err.path) == json_str(expect, "path"));
      }
      parsed++;
    }
    // A code the firmware does not send (from a newer device) is the receivers' case only.
    if (kind == "ota_status" && ok &&
        (json_str(value, "error").empty() || error_from(json_str(value, "error")) != OtaError::kNone)) {
      std::string detail = json_str(value, "detail"), version = json_str(value, "version"), cmd_id = json_str(value, "cmd_id");
      OtaReport r{state_from(json_str(value, "state")),
                  static_cast<uint8_t>(cJSON_GetObjectItemCaseSensitive(value, "progress")->valuedouble),
                  error_from(json_str(value, "error")), detail.c_str(), version.c_str(), cmd_id.c_str()};
      char out[1025];
      size_t n = build_ota_status(out, sizeof(out), r);
      CHECK(std::string(out, n) == payload);
      built++;
    }
  }
  cJSON_Delete(root);
  CHECK(parsed >= 5);
  CHECK(built >= 3);
}
