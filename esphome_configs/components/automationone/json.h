#pragma once
// A small, strict JSON reader and writer for protocol v1 (no ESPHome dependency).
//
// Decoding follows docs/protocol.md: the caller checks the size limit first; NaN and Infinity
// literals and numbers that overflow a double are `not_finite`, anything else that is not JSON
// (including invalid UTF-8 and lone surrogates) is `malformed_json`. Nesting is bounded.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace esphome {
namespace automationone {

class JsonValue {
 public:
  enum class Type : uint8_t { NUL, BOOL, NUMBER, STRING, ARRAY, OBJECT };

  JsonValue() = default;
  static JsonValue null() { return JsonValue(); }
  static JsonValue boolean(bool b);
  static JsonValue number(double d, bool integral_literal);
  static JsonValue integer(int64_t i);
  static JsonValue string(std::string s);
  static JsonValue array();
  static JsonValue object();

  Type type() const { return this->type_; }
  bool is_null() const { return this->type_ == Type::NUL; }
  bool is_bool() const { return this->type_ == Type::BOOL; }
  bool is_number() const { return this->type_ == Type::NUMBER; }
  bool is_string() const { return this->type_ == Type::STRING; }
  bool is_array() const { return this->type_ == Type::ARRAY; }
  bool is_object() const { return this->type_ == Type::OBJECT; }

  bool as_bool() const { return this->bool_; }
  double as_double() const { return this->number_; }
  /// True for a literal without fraction or exponent (`5`, not `5.0`).
  bool is_integer_literal() const { return this->integral_; }
  /// True when the number has no fractional part (`5` or `5.0`).
  bool is_integral() const;
  int64_t as_int() const;
  const std::string &as_string() const { return this->string_; }
  const std::vector<JsonValue> &items() const { return this->items_; }
  std::vector<JsonValue> &items() { return this->items_; }
  /// Object members in document order (a repeated key keeps its first place, last value).
  const std::vector<std::pair<std::string, JsonValue>> &members() const { return this->members_; }

  const JsonValue *get(const std::string &key) const;
  bool has(const std::string &key) const { return this->get(key) != nullptr; }
  /// Sets or replaces a member of an object.
  void set(const std::string &key, JsonValue value);
  void erase(const std::string &key);
  void push(JsonValue value) { this->items_.push_back(std::move(value)); }

  /// Structural equality: numbers by value, objects regardless of member order.
  bool equals(const JsonValue &other) const;

  /// Compact serialisation (integral numbers without a fraction, strings escaped).
  std::string dump() const;
  void dump_to(std::string &out) const;

 protected:
  Type type_{Type::NUL};
  bool bool_{false};
  bool integral_{false};
  double number_{0.0};
  int64_t int_{0};
  std::string string_;
  std::vector<JsonValue> items_;
  std::vector<std::pair<std::string, JsonValue>> members_;
};

enum class JsonError : uint8_t { NONE, MALFORMED, NOT_FINITE };

/// Parse a whole document. On failure returns a null value and sets `error`.
JsonValue json_parse(const char *data, size_t len, JsonError &error, int max_depth = 16);
inline JsonValue json_parse(const std::string &s, JsonError &error, int max_depth = 16) {
  return json_parse(s.data(), s.size(), error, max_depth);
}

/// Append `s` to `out` as a JSON string literal (quotes included).
void json_escape_to(const std::string &s, std::string &out);
/// Append a number: integers exactly, other values with up to 17 significant digits.
void json_number_to(double d, std::string &out);

/// Number of Unicode code points in a valid UTF-8 string.
size_t utf8_length(const std::string &s);
/// Decode valid UTF-8 into code points.
std::vector<uint32_t> utf8_decode(const std::string &s);

}  // namespace automationone
}  // namespace esphome
