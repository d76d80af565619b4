#include "json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace esphome {
namespace automationone {

JsonValue JsonValue::boolean(bool b) {
  JsonValue v;
  v.type_ = Type::BOOL;
  v.bool_ = b;
  return v;
}

JsonValue JsonValue::number(double d, bool integral_literal) {
  JsonValue v;
  v.type_ = Type::NUMBER;
  v.number_ = d;
  v.integral_ = integral_literal;
  v.int_ = integral_literal ? static_cast<int64_t>(d) : 0;
  return v;
}

JsonValue JsonValue::integer(int64_t i) {
  JsonValue v;
  v.type_ = Type::NUMBER;
  v.number_ = static_cast<double>(i);
  v.integral_ = true;
  v.int_ = i;
  return v;
}

JsonValue JsonValue::string(std::string s) {
  JsonValue v;
  v.type_ = Type::STRING;
  v.string_ = std::move(s);
  return v;
}

JsonValue JsonValue::array() {
  JsonValue v;
  v.type_ = Type::ARRAY;
  return v;
}

JsonValue JsonValue::object() {
  JsonValue v;
  v.type_ = Type::OBJECT;
  return v;
}

bool JsonValue::is_integral() const {
  if (this->type_ != Type::NUMBER)
    return false;
  return this->integral_ || (std::isfinite(this->number_) && std::floor(this->number_) == this->number_);
}

int64_t JsonValue::as_int() const {
  if (this->integral_)
    return this->int_;
  return static_cast<int64_t>(this->number_);
}

const JsonValue *JsonValue::get(const std::string &key) const {
  for (const auto &m : this->members_) {
    if (m.first == key)
      return &m.second;
  }
  return nullptr;
}

void JsonValue::set(const std::string &key, JsonValue value) {
  for (auto &m : this->members_) {
    if (m.first == key) {
      m.second = std::move(value);
      return;
    }
  }
  this->members_.emplace_back(key, std::move(value));
}

void JsonValue::erase(const std::string &key) {
  for (auto it = this->members_.begin(); it != this->members_.end(); ++it) {
    if (it->first == key) {
      this->members_.erase(it);
      return;
    }
  }
}

bool JsonValue::equals(const JsonValue &other) const {
  if (this->type_ != other.type_)
    return false;
  switch (this->type_) {
    case Type::NUL:
      return true;
    case Type::BOOL:
      return this->bool_ == other.bool_;
    case Type::NUMBER:
      if (this->integral_ && other.integral_)
        return this->int_ == other.int_;
      return this->number_ == other.number_;
    case Type::STRING:
      return this->string_ == other.string_;
    case Type::ARRAY:
      if (this->items_.size() != other.items_.size())
        return false;
      for (size_t i = 0; i < this->items_.size(); i++) {
        if (!this->items_[i].equals(other.items_[i]))
          return false;
      }
      return true;
    case Type::OBJECT:
      if (this->members_.size() != other.members_.size())
        return false;
      for (const auto &m : this->members_) {
        const JsonValue *o = other.get(m.first);
        if (o == nullptr || !m.second.equals(*o))
          return false;
      }
      return true;
  }
  return false;
}

void json_escape_to(const std::string &s, std::string &out) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void json_number_to(double d, std::string &out) {
  char buf[32];
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) {
    snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(d));
  } else if (!std::isfinite(d)) {
    snprintf(buf, sizeof(buf), "null");  // never produced for valid messages
  } else {
    // Shortest representation that round-trips.
    for (int prec = 6; prec <= 17; prec++) {
      snprintf(buf, sizeof(buf), "%.*g", prec, d);
      if (strtod(buf, nullptr) == d)
        break;
    }
  }
  out += buf;
}

void JsonValue::dump_to(std::string &out) const {
  switch (this->type_) {
    case Type::NUL:
      out += "null";
      break;
    case Type::BOOL:
      out += this->bool_ ? "true" : "false";
      break;
    case Type::NUMBER:
      if (this->integral_) {
        char buf[24];
        snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(this->int_));
        out += buf;
      } else {
        json_number_to(this->number_, out);
      }
      break;
    case Type::STRING:
      json_escape_to(this->string_, out);
      break;
    case Type::ARRAY: {
      out.push_back('[');
      bool first = true;
      for (const auto &item : this->items_) {
        if (!first)
          out.push_back(',');
        first = false;
        item.dump_to(out);
      }
      out.push_back(']');
      break;
    }
    case Type::OBJECT: {
      out.push_back('{');
      bool first = true;
      for (const auto &m : this->members_) {
        if (!first)
          out.push_back(',');
        first = false;
        json_escape_to(m.first, out);
        out.push_back(':');
        m.second.dump_to(out);
      }
      out.push_back('}');
      break;
    }
  }
}

std::string JsonValue::dump() const {
  std::string out;
  this->dump_to(out);
  return out;
}

// --- UTF-8 helpers ---------------------------------------------------------------------------

// Length of the valid UTF-8 sequence at p (0 if invalid), code point in cp.
static size_t utf8_next(const unsigned char *p, size_t left, uint32_t &cp) {
  unsigned char c = p[0];
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  size_t n;
  uint32_t min;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
    min = 0x10000;
  } else {
    return 0;
  }
  if (n > left)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

static void utf8_append(uint32_t cp, std::string &out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t utf8_length(const std::string &s) {
  size_t count = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80)
      count++;
  }
  return count;
}

std::vector<uint32_t> utf8_decode(const std::string &s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  const auto *p = reinterpret_cast<const unsigned char *>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    uint32_t cp = 0xFFFD;
    size_t n = utf8_next(p + i, s.size() - i, cp);
    if (n == 0) {
      cp = 0xFFFD;
      n = 1;
    }
    out.push_back(cp);
    i += n;
  }
  return out;
}

// --- parser ----------------------------------------------------------------------------------

namespace {

class Parser {
 public:
  Parser(const char *data, size_t len, int max_depth)
      : p_(reinterpret_cast<const unsigned char *>(data)), end_(p_ + len), max_depth_(max_depth) {}

  JsonValue parse(JsonError &error) {
    this->skip_ws_();
    JsonValue v = this->value_(0);
    if (this->error_ == JsonError::NONE) {
      this->skip_ws_();
      if (this->p_ != this->end_)
        this->error_ = JsonError::MALFORMED;
    }
    if (this->error_ == JsonError::NONE && this->overflow_)
      this->error_ = JsonError::NOT_FINITE;
    error = this->error_;
    if (error != JsonError::NONE)
      return JsonValue();
    return v;
  }

 protected:
  const unsigned char *p_;
  const unsigned char *end_;
  int max_depth_;
  JsonError error_{JsonError::NONE};
  bool overflow_{false};

  JsonValue fail_(JsonError e) {
    if (this->error_ == JsonError::NONE)
      this->error_ = e;
    return JsonValue();
  }

  void skip_ws_() {
    while (this->p_ < this->end_ && (*this->p_ == ' ' || *this->p_ == '\t' || *this->p_ == '\n' || *this->p_ == '\r'))
      this->p_++;
  }

  bool literal_(const char *word) {
    size_t n = strlen(word);
    if (static_cast<size_t>(this->end_ - this->p_) < n || memcmp(this->p_, word, n) != 0)
      return false;
    this->p_ += n;
    return true;
  }

  JsonValue value_(int depth) {
    if (this->p_ >= this->end_)
      return this->fail_(JsonError::MALFORMED);
    unsigned char c = *this->p_;
    switch (c) {
      case '{':
        return this->object_(depth);
      case '[':
        return this->array_(depth);
      case '"': {
        std::string s;
        if (!this->string_(s))
          return this->fail_(JsonError::MALFORMED);
        return JsonValue::string(std::move(s));
      }
      case 't':
        if (this->literal_("true"))
          return JsonValue::boolean(true);
        return this->fail_(JsonError::MALFORMED);
      case 'f':
        if (this->literal_("false"))
          return JsonValue::boolean(false);
        return this->fail_(JsonError::MALFORMED);
      case 'n':
        if (this->literal_("null"))
          return JsonValue::null();
        return this->fail_(JsonError::MALFORMED);
      case 'N':
        if (this->literal_("NaN"))
          return this->fail_(JsonError::NOT_FINITE);
        return this->fail_(JsonError::MALFORMED);
      case 'I':
        if (this->literal_("Infinity"))
          return this->fail_(JsonError::NOT_FINITE);
        return this->fail_(JsonError::MALFORMED);
      default:
        if (c == '-' && this->end_ - this->p_ >= 9 && memcmp(this->p_ + 1, "Infinity", 8) == 0)
          return this->fail_(JsonError::NOT_FINITE);
        if (c == '-' || (c >= '0' && c <= '9'))
          return this->number_();
        return this->fail_(JsonError::MALFORMED);
    }
  }

  JsonValue number_() {
    const unsigned char *start = this->p_;
    if (*this->p_ == '-')
      this->p_++;
    if (this->p_ >= this->end_)
      return this->fail_(JsonError::MALFORMED);
    if (*this->p_ == '0') {
      this->p_++;
    } else if (*this->p_ >= '1' && *this->p_ <= '9') {
      while (this->p_ < this->end_ && *this->p_ >= '0' && *this->p_ <= '9')
        this->p_++;
    } else {
      return this->fail_(JsonError::MALFORMED);
    }
    bool integral = true;
    if (this->p_ < this->end_ && *this->p_ == '.') {
      integral = false;
      this->p_++;
      if (this->p_ >= this->end_ || *this->p_ < '0' || *this->p_ > '9')
        return this->fail_(JsonError::MALFORMED);
      while (this->p_ < this->end_ && *this->p_ >= '0' && *this->p_ <= '9')
        this->p_++;
    }
    if (this->p_ < this->end_ && (*this->p_ == 'e' || *this->p_ == 'E')) {
      integral = false;
      this->p_++;
      if (this->p_ < this->end_ && (*this->p_ == '+' || *this->p_ == '-'))
        this->p_++;
      if (this->p_ >= this->end_ || *this->p_ < '0' || *this->p_ > '9')
        return this->fail_(JsonError::MALFORMED);
      while (this->p_ < this->end_ && *this->p_ >= '0' && *this->p_ <= '9')
        this->p_++;
    }
    std::string text(reinterpret_cast<const char *>(start), this->p_ - start);
    if (integral) {
      // 64-bit integers exactly; beyond that JSON parsers differ, we refuse the document.
      errno = 0;
      char *endp = nullptr;
      if (text[0] == '-') {
        long long i = strtoll(text.c_str(), &endp, 10);
        if (errno == ERANGE)
          return this->fail_(JsonError::MALFORMED);
        return JsonValue::integer(i);
      }
      unsigned long long u = strtoull(text.c_str(), &endp, 10);
      if (errno == ERANGE)
        return this->fail_(JsonError::MALFORMED);
      if (u > static_cast<unsigned long long>(INT64_MAX))
        return JsonValue::number(static_cast<double>(u), false);
      return JsonValue::integer(static_cast<int64_t>(u));
    }
    double d = strtod(text.c_str(), nullptr);
    if (!std::isfinite(d))
      this->overflow_ = true;
    return JsonValue::number(d, false);
  }

  bool hex4_(uint32_t &out) {
    if (this->end_ - this->p_ < 4)
      return false;
    out = 0;
    for (int i = 0; i < 4; i++) {
      unsigned char c = *this->p_++;
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= c - '0';
      else if (c >= 'a' && c <= 'f')
        out |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        out |= c - 'A' + 10;
      else
        return false;
    }
    return true;
  }

  bool string_(std::string &out) {
    this->p_++;  // opening quote
    while (true) {
      if (this->p_ >= this->end_)
        return false;
      unsigned char c = *this->p_;
      if (c == '"') {
        this->p_++;
        return true;
      }
      if (c < 0x20)
        return false;
      if (c == '\\') {
        this->p_++;
        if (this->p_ >= this->end_)
          return false;
        unsigned char e = *this->p_++;
        switch (e) {
          case '"':
            out.push_back('"');
            break;
          case '\\':
            out.push_back('\\');
            break;
          case '/':
            out.push_back('/');
            break;
          case 'b':
            out.push_back('\b');
            break;
          case 'f':
            out.push_back('\f');
            break;
          case 'n':
            out.push_back('\n');
            break;
          case 'r':
            out.push_back('\r');
            break;
          case 't':
            out.push_back('\t');
            break;
          case 'u': {
            uint32_t cp;
            if (!this->hex4_(cp))
              return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              uint32_t lo;
              if (this->end_ - this->p_ < 6 || this->p_[0] != '\\' || this->p_[1] != 'u')
                return false;  // lone surrogate
              this->p_ += 2;
              if (!this->hex4_(lo) || lo < 0xDC00 || lo > 0xDFFF)
                return false;
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
              return false;
            }
            utf8_append(cp, out);
            break;
          }
          default:
            return false;
        }
        continue;
      }
      uint32_t cp;
      size_t n = utf8_next(this->p_, this->end_ - this->p_, cp);
      if (n == 0)
        return false;
      out.append(reinterpret_cast<const char *>(this->p_), n);
      this->p_ += n;
    }
  }

  JsonValue array_(int depth) {
    if (depth >= this->max_depth_)
      return this->fail_(JsonError::MALFORMED);
    this->p_++;
    JsonValue arr = JsonValue::array();
    this->skip_ws_();
    if (this->p_ < this->end_ && *this->p_ == ']') {
      this->p_++;
      return arr;
    }
    while (true) {
      this->skip_ws_();
      JsonValue item = this->value_(depth + 1);
      if (this->error_ != JsonError::NONE)
        return JsonValue();
      arr.push(std::move(item));
      this->skip_ws_();
      if (this->p_ >= this->end_)
        return this->fail_(JsonError::MALFORMED);
      if (*this->p_ == ',') {
        this->p_++;
        continue;
      }
      if (*this->p_ == ']') {
        this->p_++;
        return arr;
      }
      return this->fail_(JsonError::MALFORMED);
    }
  }

  JsonValue object_(int depth) {
    if (depth >= this->max_depth_)
      return this->fail_(JsonError::MALFORMED);
    this->p_++;
    JsonValue obj = JsonValue::object();
    this->skip_ws_();
    if (this->p_ < this->end_ && *this->p_ == '}') {
      this->p_++;
      return obj;
    }
    while (true) {
      this->skip_ws_();
      if (this->p_ >= this->end_ || *this->p_ != '"')
        return this->fail_(JsonError::MALFORMED);
      std::string key;
      if (!this->string_(key))
        return this->fail_(JsonError::MALFORMED);
      this->skip_ws_();
      if (this->p_ >= this->end_ || *this->p_ != ':')
        return this->fail_(JsonError::MALFORMED);
      this->p_++;
      this->skip_ws_();
      JsonValue item = this->value_(depth + 1);
      if (this->error_ != JsonError::NONE)
        return JsonValue();
      obj.set(key, std::move(item));
      this->skip_ws_();
      if (this->p_ >= this->end_)
        return this->fail_(JsonError::MALFORMED);
      if (*this->p_ == ',') {
        this->p_++;
        continue;
      }
      if (*this->p_ == '}') {
        this->p_++;
        return obj;
      }
      return this->fail_(JsonError::MALFORMED);
    }
  }
};

}  // namespace

JsonValue json_parse(const char *data, size_t len, JsonError &error, int max_depth) {
  Parser parser(data, len, max_depth);
  return parser.parse(error);
}

}  // namespace automationone
}  // namespace esphome
