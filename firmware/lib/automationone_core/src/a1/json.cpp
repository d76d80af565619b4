#include "a1/json.h"

#include <string.h>

namespace a1 {

namespace {
// Exact powers of ten up to 1e22 (all representable in a double); division by them rounds once.
const double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                         1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

double scale10(double m, int exp) {
  if (exp >= 0) {
    while (exp > 22) {
      m *= 1e22;
      exp -= 22;
      if (m > 1.7976931348623157e308) return m;  // inf
    }
    return m * kPow10[exp];
  }
  exp = -exp;
  while (exp > 22) {
    m /= 1e22;
    exp -= 22;
  }
  return m / kPow10[exp];
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

size_t utf8_length(const char *s, size_t len) {
  size_t n = 0;
  for (size_t i = 0; i < len; i++) {
    if ((static_cast<uint8_t>(s[i]) & 0xC0) != 0x80) n++;
  }
  return n;
}

JsonStatus JsonDoc::parse(const char *data, size_t len) {
  this->ntok_ = 0;
  this->pos_ = 0;
  this->err_ = JsonStatus::kOk;
  this->overflow_ = false;
  if (len > kMaxPayload) return JsonStatus::kTooLarge;
  memcpy(this->buf_, data, len);
  this->buf_[len] = '\0';
  this->len_ = len;
  this->skip_ws();
  if (this->parse_value(1) < 0) return this->err_ == JsonStatus::kOk ? JsonStatus::kMalformed : this->err_;
  this->skip_ws();
  if (this->pos_ != this->len_) return JsonStatus::kMalformed;
  // An overflowing literal (1e999) is valid JSON syntax but not a finite number.
  if (this->overflow_) return JsonStatus::kNotFinite;
  return JsonStatus::kOk;
}

void JsonDoc::skip_ws() {
  while (this->pos_ < this->len_) {
    char c = this->buf_[this->pos_];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    this->pos_++;
  }
}

int JsonDoc::new_tok(JType type) {
  if (this->ntok_ >= static_cast<int>(kMaxTokens)) {
    this->err_ = JsonStatus::kTooLarge;  // unreachable within kMaxPayload; kept as a guard
    return -1;
  }
  int i = this->ntok_++;
  JTok &t = this->toks_[i];
  t.type = type;
  t.start = static_cast<uint16_t>(this->pos_);
  t.len = 0;
  t.next = static_cast<uint16_t>(i + 1);
  t.integral = false;
  return i;
}

int JsonDoc::parse_value(int depth) {
  if (this->pos_ >= this->len_) return -1;
  char c = this->buf_[this->pos_];
  if (c == '{' || c == '[') {
    if (depth > kMaxDepth) {
      this->err_ = JsonStatus::kTooLarge;  // nested deeper than the protocol allows
      return -1;
    }
    bool obj = c == '{';
    int i = this->new_tok(obj ? JType::kObject : JType::kArray);
    if (i < 0) return -1;
    this->pos_++;
    this->skip_ws();
    char close = obj ? '}' : ']';
    if (this->pos_ < this->len_ && this->buf_[this->pos_] == close) {
      this->pos_++;
    } else {
      for (;;) {
        if (obj) {
          if (this->pos_ >= this->len_ || this->buf_[this->pos_] != '"') return -1;
          if (this->parse_string() < 0) return -1;
          this->skip_ws();
          if (this->pos_ >= this->len_ || this->buf_[this->pos_] != ':') return -1;
          this->pos_++;
          this->skip_ws();
        }
        if (this->parse_value(depth + 1) < 0) return -1;
        this->toks_[i].len++;
        this->skip_ws();
        if (this->pos_ >= this->len_) return -1;
        char d = this->buf_[this->pos_++];
        if (d == close) break;
        if (d != ',') return -1;
        this->skip_ws();
      }
    }
    this->toks_[i].next = static_cast<uint16_t>(this->ntok_);
    return i;
  }
  if (c == '"') return this->parse_string();
  if (c == '-' || is_digit(c)) {
    if (c == '-' && this->len_ - this->pos_ >= 9 && memcmp(this->buf_ + this->pos_, "-Infinity", 9) == 0) {
      this->err_ = JsonStatus::kNotFinite;
      return -1;
    }
    return this->parse_number();
  }
  struct Lit {
    const char *text;
    size_t n;
    JType type;
    bool non_finite;
  };
  static const Lit kLits[] = {{"true", 4, JType::kTrue, false},
                              {"false", 5, JType::kFalse, false},
                              {"null", 4, JType::kNull, false},
                              {"NaN", 3, JType::kNull, true},
                              {"Infinity", 8, JType::kNull, true}};
  for (const Lit &lit : kLits) {
    if (this->len_ - this->pos_ >= lit.n && memcmp(this->buf_ + this->pos_, lit.text, lit.n) == 0) {
      if (lit.non_finite) {
        this->err_ = JsonStatus::kNotFinite;  // what Python's json reports first, too
        return -1;
      }
      int i = this->new_tok(lit.type);
      this->pos_ += lit.n;
      return i;
    }
  }
  return -1;
}

// One well-formed UTF-8 sequence after its lead byte (consumed), as Python's strict decoder
// wants it: no overlong forms, no encoded surrogates, nothing above U+10FFFF.
bool JsonDoc::utf8_sequence(uint8_t lead) {
  int extra;
  uint8_t lo = 0x80, hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    extra = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    extra = 2;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    extra = 3;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return false;
  }
  for (int k = 0; k < extra; k++) {
    if (this->pos_ >= this->len_) return false;
    uint8_t b = static_cast<uint8_t>(this->buf_[this->pos_]);
    if (b < lo || b > hi) return false;
    lo = 0x80;
    hi = 0xBF;
    this->pos_++;
  }
  return true;
}

namespace {
bool read_hex4(const char *p, uint32_t &cp) {
  cp = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval(p[k]);
    if (h < 0) return false;
    cp = (cp << 4) | static_cast<uint32_t>(h);
  }
  return true;
}
}  // namespace

int JsonDoc::parse_string() {
  this->pos_++;  // opening quote
  int i = this->new_tok(JType::kString);
  if (i < 0) return -1;
  size_t out = this->pos_;
  while (this->pos_ < this->len_) {
    uint8_t c = static_cast<uint8_t>(this->buf_[this->pos_++]);
    if (c == '"') {
      this->toks_[i].len = static_cast<uint16_t>(out - this->toks_[i].start);
      this->buf_[out] = '\0';  // safe: out < pos_ (the closing quote's slot or earlier)
      return i;
    }
    if (c < 0x20) return -1;
    if (c >= 0x80) {
      size_t begin = this->pos_ - 1;
      if (!this->utf8_sequence(c)) return -1;
      while (begin < this->pos_) this->buf_[out++] = this->buf_[begin++];
      continue;
    }
    if (c != '\\') {
      this->buf_[out++] = static_cast<char>(c);
      continue;
    }
    if (this->pos_ >= this->len_) return -1;
    char e = this->buf_[this->pos_++];
    char plain = 0;
    switch (e) {
      case '"': plain = '"'; break;
      case '\\': plain = '\\'; break;
      case '/': plain = '/'; break;
      case 'b': plain = '\b'; break;
      case 'f': plain = '\f'; break;
      case 'n': plain = '\n'; break;
      case 'r': plain = '\r'; break;
      case 't': plain = '\t'; break;
      case 'u': break;
      default: return -1;
    }
    if (plain != 0) {
      this->buf_[out++] = plain;
      continue;
    }
    uint32_t cp = 0;
    if (this->pos_ + 4 > this->len_ || !read_hex4(this->buf_ + this->pos_, cp)) return -1;
    this->pos_ += 4;
    // A surrogate must come as a high/low pair; a lone one is not text (malformed, as in Python).
    if (cp >= 0xDC00 && cp <= 0xDFFF) return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t low = 0;
      if (this->pos_ + 6 > this->len_ || this->buf_[this->pos_] != '\\' || this->buf_[this->pos_ + 1] != 'u' ||
          !read_hex4(this->buf_ + this->pos_ + 2, low) || low < 0xDC00 || low > 0xDFFF) {
        return -1;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
      this->pos_ += 6;
    }
    // Every escape is >= 6 input bytes and its UTF-8 form is <= 4, so `out` stays behind `pos_`.
    if (cp < 0x80) {
      this->buf_[out++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
      this->buf_[out++] = static_cast<char>(0xC0 | (cp >> 6));
      this->buf_[out++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      this->buf_[out++] = static_cast<char>(0xE0 | (cp >> 12));
      this->buf_[out++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      this->buf_[out++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      this->buf_[out++] = static_cast<char>(0xF0 | (cp >> 18));
      this->buf_[out++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      this->buf_[out++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      this->buf_[out++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return -1;
}

double scan_number(const char *s, size_t len, bool *integral) {
  size_t pos = 0;
  bool neg = false;
  if (pos < len && s[pos] == '-') {
    neg = true;
    pos++;
  }
  uint64_t mant = 0;
  int digits = 0;
  int exp10 = 0;
  while (pos < len && is_digit(s[pos])) {
    int d = s[pos++] - '0';
    if (digits < 19) {
      mant = mant * 10 + static_cast<uint64_t>(d);
      if (mant != 0) digits++;
    } else {
      exp10++;
    }
  }
  if (pos < len && s[pos] == '.') {
    pos++;
    while (pos < len && is_digit(s[pos])) {
      int d = s[pos++] - '0';
      if (digits < 19) {
        mant = mant * 10 + static_cast<uint64_t>(d);
        if (mant != 0) digits++;
        exp10--;
      }
    }
  }
  int exp_part = 0;
  if (pos < len && (s[pos] == 'e' || s[pos] == 'E')) {
    pos++;
    bool eneg = false;
    if (pos < len && (s[pos] == '+' || s[pos] == '-')) {
      eneg = s[pos] == '-';
      pos++;
    }
    while (pos < len && is_digit(s[pos])) {
      if (exp_part < 100000) exp_part = exp_part * 10 + (s[pos] - '0');
      pos++;
    }
    if (eneg) exp_part = -exp_part;
  }
  double v = mant == 0 ? 0.0 : scale10(static_cast<double>(mant), exp10 + exp_part);
  if (integral != nullptr) {
    // Python's rule: an int literal, or a float whose value is integral (5.0, 1e3).
    double whole = static_cast<double>(static_cast<int64_t>(v < 9.2e18 ? v : 0));
    *integral = v < 9.2e18 ? whole == v : true;
  }
  return neg ? -v : v;
}

int JsonDoc::parse_number() {
  int i = this->new_tok(JType::kNumber);
  if (i < 0) return -1;
  size_t begin = this->pos_;
  if (this->buf_[this->pos_] == '-') this->pos_++;
  if (this->pos_ >= this->len_ || !is_digit(this->buf_[this->pos_])) return -1;
  if (this->buf_[this->pos_] == '0') {
    this->pos_++;
  } else {
    while (this->pos_ < this->len_ && is_digit(this->buf_[this->pos_])) this->pos_++;
  }
  if (this->pos_ < this->len_ && this->buf_[this->pos_] == '.') {
    this->pos_++;
    if (this->pos_ >= this->len_ || !is_digit(this->buf_[this->pos_])) return -1;
    while (this->pos_ < this->len_ && is_digit(this->buf_[this->pos_])) this->pos_++;
  }
  if (this->pos_ < this->len_ && (this->buf_[this->pos_] == 'e' || this->buf_[this->pos_] == 'E')) {
    this->pos_++;
    if (this->pos_ < this->len_ && (this->buf_[this->pos_] == '+' || this->buf_[this->pos_] == '-')) this->pos_++;
    if (this->pos_ >= this->len_ || !is_digit(this->buf_[this->pos_])) return -1;
    while (this->pos_ < this->len_ && is_digit(this->buf_[this->pos_])) this->pos_++;
  }
  JTok &t = this->toks_[i];
  t.len = static_cast<uint16_t>(this->pos_ - begin);
  double v = scan_number(this->buf_ + begin, t.len, &t.integral);
  if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308) this->overflow_ = true;
  return i;
}

double JsonDoc::num(int i) const {
  const JTok &t = this->toks_[i];
  return t.type == JType::kNumber ? scan_number(this->buf_ + t.start, t.len, nullptr) : 0.0;
}

bool JsonDoc::str_eq(int i, const char *s) const {
  const JTok &t = this->toks_[i];
  return t.type == JType::kString && strlen(s) == t.len && memcmp(this->buf_ + t.start, s, t.len) == 0;
}

int JsonDoc::find(int obj, const char *key) const {
  if (obj < 0 || this->toks_[obj].type != JType::kObject) return -1;
  int k = obj + 1;
  int found = -1;
  for (int n = 0; n < this->toks_[obj].count(); n++) {
    int v = k + 1;
    if (this->str_eq(k, key)) found = v;  // last duplicate wins, like Python's json
    k = this->toks_[v].next;
  }
  return found;
}

int JsonDoc::item(int arr, int index) const {
  if (arr < 0 || this->toks_[arr].type != JType::kArray || index >= this->toks_[arr].count()) return -1;
  int k = arr + 1;
  for (int n = 0; n < index; n++) k = this->toks_[k].next;
  return k;
}

// ---- writer ----

void JsonWriter::put(char c) {
  if (this->len_ + 1 >= this->cap_) {
    this->ok_ = false;
    return;
  }
  this->buf_[this->len_++] = c;
  this->buf_[this->len_] = '\0';
}

void JsonWriter::raw(const char *s) {
  while (*s) this->put(*s++);
}

void JsonWriter::str(const char *s) {
  static const char kHex[] = "0123456789abcdef";
  this->put('"');
  for (; *s; s++) {
    uint8_t c = static_cast<uint8_t>(*s);
    if (c == '"' || c == '\\') {
      this->put('\\');
      this->put(static_cast<char>(c));
    } else if (c < 0x20) {
      this->raw("\\u00");
      this->put(kHex[c >> 4]);
      this->put(kHex[c & 15]);
    } else {
      this->put(static_cast<char>(c));
    }
  }
  this->put('"');
}

void JsonWriter::uint(uint64_t v) {
  char tmp[21];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) this->put(tmp[--n]);
}

void JsonWriter::num(double v) {
  // Finite values only (protocol v1 has no NaN); up to 4 decimals, trailing zeros trimmed.
  if (!(v == v) || v > 1e15 || v < -1e15) {
    this->put('0');
    return;
  }
  if (v < 0) {
    this->put('-');
    v = -v;
  }
  uint64_t scaled = static_cast<uint64_t>(v * 10000.0 + 0.5);
  uint64_t whole = scaled / 10000;
  uint32_t frac = static_cast<uint32_t>(scaled % 10000);
  this->uint(whole);
  if (frac == 0) return;
  char digits[5] = {static_cast<char>('0' + frac / 1000), static_cast<char>('0' + frac / 100 % 10),
                    static_cast<char>('0' + frac / 10 % 10), static_cast<char>('0' + frac % 10), 0};
  int end = 4;
  while (end > 0 && digits[end - 1] == '0') digits[--end] = 0;
  this->put('.');
  this->raw(digits);
}

void JsonWriter::sep() {
  if (this->need_comma_) this->put(',');
  this->need_comma_ = true;
}

void JsonWriter::key(const char *k) {
  this->sep();
  if (k != nullptr) {
    this->str(k);
    this->put(':');
  }
}

JsonWriter &JsonWriter::begin_object() {
  this->key(nullptr);
  this->put('{');
  this->need_comma_ = false;
  return *this;
}
JsonWriter &JsonWriter::begin_object(const char *k) {
  this->key(k);
  this->put('{');
  this->need_comma_ = false;
  return *this;
}
JsonWriter &JsonWriter::end_object() {
  this->put('}');
  this->need_comma_ = true;
  return *this;
}
JsonWriter &JsonWriter::begin_array(const char *k) {
  this->key(k);
  this->put('[');
  this->need_comma_ = false;
  return *this;
}
JsonWriter &JsonWriter::end_array() {
  this->put(']');
  this->need_comma_ = true;
  return *this;
}
JsonWriter &JsonWriter::kv(const char *k, const char *value) {
  this->key(k);
  this->str(value);
  return *this;
}
JsonWriter &JsonWriter::kv_int(const char *k, int64_t value) {
  this->key(k);
  if (value < 0) {
    this->put('-');
    this->uint(static_cast<uint64_t>(-(value + 1)) + 1);
  } else {
    this->uint(static_cast<uint64_t>(value));
  }
  return *this;
}
JsonWriter &JsonWriter::kv_uint(const char *k, uint64_t value) {
  this->key(k);
  this->uint(value);
  return *this;
}
JsonWriter &JsonWriter::kv_num(const char *k, double value) {
  this->key(k);
  this->num(value);
  return *this;
}
JsonWriter &JsonWriter::kv_bool(const char *k, bool value) {
  this->key(k);
  this->raw(value ? "true" : "false");
  return *this;
}
JsonWriter &JsonWriter::item_uint(uint64_t value) {
  this->key(nullptr);
  this->uint(value);
  return *this;
}

}  // namespace a1
