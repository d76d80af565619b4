#pragma once
// Validation of protocol payloads against the JSON Schemas in
// custom_components/automationone/protocol/schemas/ (embedded by tools/gen_schemas.py into
// schemas_data.h). Mirrors the Python validator: the same keyword subset, the same order of
// checks, the same error code and path of the first bad field.

#include <string>
#include <vector>

#include "json.h"

namespace esphome {
namespace automationone {

enum class ErrorCode : uint8_t {
  NONE,
  TOO_LARGE,
  MALFORMED_JSON,
  NOT_FINITE,
  NOT_OBJECT,
  UNSUPPORTED_VERSION,
  MISSING_FIELD,
  WRONG_TYPE,
  OUT_OF_RANGE,
  BAD_VALUE,
  INVALID_ID,
  UNKNOWN_TOPIC,
  ID_MISMATCH,
};

const char *error_code_str(ErrorCode code);

struct ProtoError {
  ErrorCode code{ErrorCode::NONE};
  std::string path;
  bool ok() const { return this->code == ErrorCode::NONE; }
};

/// A tiny regular-expression matcher for the patterns the schemas use: anchors, literals,
/// escapes (\s \d \w and escaped punctuation), classes with ranges and negation, groups with
/// alternation, and the quantifiers ? * + {n} {n,} {n,m}. Matches code points, like Python.
class Pattern {
 public:
  /// Compiles `source`; valid() is false for syntax it does not support.
  explicit Pattern(const std::string &source);
  bool valid() const { return this->valid_; }
  /// Python's re.fullmatch.
  bool full_match(const std::string &text) const;

  struct Node;

 protected:
  bool valid_{false};
  std::vector<Node> nodes_;
  int root_{-1};
};

/// One compiled schema: validates a decoded value and returns it normalised (unknown members
/// dropped, integral numbers of integer fields as integers).
class SchemaValidator {
 public:
  explicit SchemaValidator(const char *schema_json);
  bool valid() const { return this->valid_; }
  /// Returns false and fills `error` at the first bad field.
  bool validate(const JsonValue &value, JsonValue &normalised, ProtoError &error) const;

 protected:
  bool valid_{false};
  JsonValue schema_;
  mutable std::vector<std::pair<std::string, Pattern>> patterns_;
  bool check_(const JsonValue &schema, const JsonValue &value, const std::string &path, JsonValue &out,
              ProtoError &error) const;
  const Pattern &pattern_(const std::string &source) const;
};

}  // namespace automationone
}  // namespace esphome
