// Small JSON reader and writer over fixed buffers.
//
// Why not cJSON (which ESP-IDF ships and Debian packages): cJSON allocates one node per value
// and a string per key, so the steady-state loop would allocate on every message unless its hooks
// were backed by an arena; it also parses NaN/1e999 silently and cannot tell `5` from `5.0`,
// both of which protocol v1 must distinguish (not_finite, "int" = no fractional part). A
// jsmn-style tokenizer into a fixed token array is ~300 lines, never allocates, bounds the
// work per message, and reports exactly the error codes of docs/protocol.md.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace a1 {

enum class JType : uint8_t { kNull, kFalse, kTrue, kNumber, kString, kArray, kObject };

// One token (8 bytes: the token array must hold the densest document a size limit allows).
// Containers are followed by their children; `next` is the index after the subtree. Objects
// store key (string) and value tokens alternately. A number keeps its literal; JsonDoc::num()
// reads the value from it.
struct JTok {
  uint16_t start;  // strings: offset of the unescaped text; numbers: of the literal
  uint16_t len;    // strings: byte length; numbers: literal length; containers: item/pair count
  uint16_t next;   // index of the token after this one's subtree
  JType type;
  bool integral;   // numbers: no fractional part (5 and 5.0 both are)
  uint16_t count() const { return this->len; }
};

enum class JsonStatus : uint8_t { kOk, kMalformed, kNotFinite, kTooLarge };

class JsonDoc {
 public:
  // docs/protocol.md "Limits": the largest payload, and the deepest nesting (the root object
  // is level 1; deeper is `too_large`). Every document within kMaxPayload fits the token array
  // (`[0,0,...]` has one token per 2 bytes), so unknown fields never exhaust it.
  static constexpr size_t kMaxPayload = 4096;
  static constexpr size_t kMaxTokens = kMaxPayload / 2 + 1;
  static constexpr int kMaxDepth = 32;

  // Copies `data` and tokenizes it. Strings are unescaped in place inside the copy.
  JsonStatus parse(const char *data, size_t len);

  const JTok &tok(int i) const { return this->toks_[i]; }
  int size() const { return this->ntok_; }
  const char *str(int i) const { return this->buf_ + this->toks_[i].start; }
  // Value of number token `i` (0 for any other token).
  double num(int i) const;
  bool str_eq(int i, const char *s) const;
  // Value token of `key` in object `obj`, or -1.
  int find(int obj, const char *key) const;
  // i-th item of array `arr` (walks `next` links).
  int item(int arr, int index) const;

 private:
  int parse_value(int depth);
  bool utf8_sequence(uint8_t lead);
  int parse_string();
  int parse_number();
  int new_tok(JType type);
  void skip_ws();

  char buf_[kMaxPayload + 1];
  JTok toks_[kMaxTokens];
  size_t len_ = 0;
  size_t pos_ = 0;
  int ntok_ = 0;
  JsonStatus err_ = JsonStatus::kOk;
  bool overflow_ = false;
};

// Reads a JSON number literal (already checked by the tokenizer) into a double; inf on overflow.
double scan_number(const char *s, size_t len, bool *integral);

// Count UTF-8 code points (what JSON Schema's minLength/maxLength count).
size_t utf8_length(const char *s, size_t len);

// Writes JSON into a caller's fixed buffer; `ok()` is false once anything did not fit.
class JsonWriter {
 public:
  JsonWriter(char *buf, size_t cap) : buf_(buf), cap_(cap) {
    if (cap > 0) buf[0] = '\0';
  }
  JsonWriter &begin_object();
  JsonWriter &end_object();
  JsonWriter &begin_array(const char *key = nullptr);
  JsonWriter &end_array();
  JsonWriter &begin_object(const char *key);
  JsonWriter &kv(const char *key, const char *value);
  JsonWriter &kv_int(const char *key, int64_t value);
  JsonWriter &kv_uint(const char *key, uint64_t value);
  JsonWriter &kv_num(const char *key, double value);
  JsonWriter &kv_bool(const char *key, bool value);
  JsonWriter &item_uint(uint64_t value);
  bool ok() const { return this->ok_; }
  size_t len() const { return this->len_; }
  const char *c_str() const { return this->buf_; }

 private:
  void key(const char *k);
  void sep();
  void put(char c);
  void raw(const char *s);
  void str(const char *s);
  void uint(uint64_t v);
  void num(double v);

  char *buf_;
  size_t cap_;
  size_t len_ = 0;
  bool ok_ = true;
  bool need_comma_ = false;
};

}  // namespace a1
