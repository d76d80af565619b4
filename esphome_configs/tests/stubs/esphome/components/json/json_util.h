#pragma once
// Stub for the board-path syntax check (see esphome.mk): ESPHome's json component needs
// ArduinoJson, which PlatformIO would download. mqtt_client.h only needs these names.
#include <functional>
#include <string>

class JsonObject {};
class JsonDocument {};
class JsonObjectConst {
 public:
  JsonObjectConst() = default;
  JsonObjectConst(JsonObject /*unused*/) {}  // NOLINT(google-explicit-constructor)
};

namespace esphome {
namespace json {
using json_parse_t = std::function<bool(JsonObject)>;
using json_build_t = std::function<void(JsonObject)>;
}  // namespace json
}  // namespace esphome
