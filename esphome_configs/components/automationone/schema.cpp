#include "schema.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>

namespace esphome {
namespace automationone {

const char *error_code_str(ErrorCode code) {
  switch (code) {
    case ErrorCode::NONE:
      return "ok";
    case ErrorCode::TOO_LARGE:
      return "too_large";
    case ErrorCode::MALFORMED_JSON:
      return "malformed_json";
    case ErrorCode::NOT_FINITE:
      return "not_finite";
    case ErrorCode::NOT_OBJECT:
      return "not_object";
    case ErrorCode::UNSUPPORTED_VERSION:
      return "unsupported_version";
    case ErrorCode::MISSING_FIELD:
      return "missing_field";
    case ErrorCode::WRONG_TYPE:
      return "wrong_type";
    case ErrorCode::OUT_OF_RANGE:
      return "out_of_range";
    case ErrorCode::BAD_VALUE:
      return "bad_value";
    case ErrorCode::INVALID_ID:
      return "invalid_id";
    case ErrorCode::UNKNOWN_TOPIC:
      return "unknown_topic";
    case ErrorCode::ID_MISMATCH:
      return "id_mismatch";
  }
  return "unknown";
}

// --- Pattern ---------------------------------------------------------------------------------

struct Pattern::Node {
  enum Kind : uint8_t { SET, SEQ, ALT, REPEAT, BEGIN, END } kind{SET};
  // SET
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  bool negate{false};
  bool space{false};
  bool digit{false};
  bool word{false};
  // SEQ, ALT, REPEAT
  std::vector<int> children;
  int min{0};
  int max{0};  // -1: unbounded
};

namespace {

bool is_space_cp(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || (c >= 0x1C && c <= 0x1F) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}
bool is_digit_cp(uint32_t c) { return c >= '0' && c <= '9'; }
bool is_word_cp(uint32_t c) {
  return is_digit_cp(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

class PatternParser {
 public:
  PatternParser(const std::vector<uint32_t> &src, std::vector<Pattern::Node> &nodes) : src_(src), nodes_(nodes) {}
  bool ok{true};

  int parse() {
    int root = this->alt_();
    if (this->pos_ != this->src_.size())
      this->ok = false;
    return root;
  }

 protected:
  const std::vector<uint32_t> &src_;
  std::vector<Pattern::Node> &nodes_;
  size_t pos_{0};

  bool more_() const { return this->pos_ < this->src_.size(); }
  uint32_t peek_() const { return this->src_[this->pos_]; }

  int add_(Pattern::Node node) {
    this->nodes_.push_back(std::move(node));
    return static_cast<int>(this->nodes_.size()) - 1;
  }

  int alt_() {
    Pattern::Node alt;
    alt.kind = Pattern::Node::ALT;
    alt.children.push_back(this->seq_());
    while (this->more_() && this->peek_() == '|') {
      this->pos_++;
      alt.children.push_back(this->seq_());
    }
    if (alt.children.size() == 1)
      return alt.children[0];
    return this->add_(std::move(alt));
  }

  int seq_() {
    Pattern::Node seq;
    seq.kind = Pattern::Node::SEQ;
    while (this->more_() && this->peek_() != '|' && this->peek_() != ')') {
      int atom = this->atom_();
      if (!this->ok)
        return this->add_(Pattern::Node());
      seq.children.push_back(this->quantified_(atom));
    }
    return this->add_(std::move(seq));
  }

  bool number_(int &out) {
    if (!this->more_() || !is_digit_cp(this->peek_()))
      return false;
    out = 0;
    while (this->more_() && is_digit_cp(this->peek_()))
      out = out * 10 + static_cast<int>(this->src_[this->pos_++] - '0');
    return true;
  }

  int quantified_(int atom) {
    if (!this->more_())
      return atom;
    int min, max;
    uint32_t c = this->peek_();
    if (c == '?') {
      min = 0;
      max = 1;
      this->pos_++;
    } else if (c == '*') {
      min = 0;
      max = -1;
      this->pos_++;
    } else if (c == '+') {
      min = 1;
      max = -1;
      this->pos_++;
    } else if (c == '{') {
      this->pos_++;
      if (!this->number_(min)) {
        this->ok = false;
        return atom;
      }
      max = min;
      if (this->more_() && this->peek_() == ',') {
        this->pos_++;
        if (!this->number_(max))
          max = -1;
      }
      if (!this->more_() || this->peek_() != '}') {
        this->ok = false;
        return atom;
      }
      this->pos_++;
    } else {
      return atom;
    }
    if (this->more_() && (this->peek_() == '?' || this->peek_() == '+')) {
      this->ok = false;  // lazy and possessive quantifiers are not needed by the schemas
      return atom;
    }
    Pattern::Node rep;
    rep.kind = Pattern::Node::REPEAT;
    rep.children.push_back(atom);
    rep.min = min;
    rep.max = max;
    return this->add_(std::move(rep));
  }

  // An escape after the backslash, into a set node.
  void escape_(Pattern::Node &set) {
    if (!this->more_()) {
      this->ok = false;
      return;
    }
    uint32_t e = this->src_[this->pos_++];
    switch (e) {
      case 's':
        set.space = true;
        break;
      case 'd':
        set.digit = true;
        break;
      case 'w':
        set.word = true;
        break;
      case 'n':
        set.ranges.emplace_back('\n', '\n');
        break;
      case 't':
        set.ranges.emplace_back('\t', '\t');
        break;
      default:
        if (is_word_cp(e)) {
          this->ok = false;  // \S, \b, \1 ...: unsupported
          return;
        }
        set.ranges.emplace_back(e, e);
    }
  }

  int atom_() {
    uint32_t c = this->src_[this->pos_++];
    Pattern::Node node;
    switch (c) {
      case '^':
        node.kind = Pattern::Node::BEGIN;
        return this->add_(std::move(node));
      case '$':
        node.kind = Pattern::Node::END;
        return this->add_(std::move(node));
      case '(': {
        if (this->more_() && this->peek_() == '?') {
          this->ok = false;
          return this->add_(std::move(node));
        }
        int inner = this->alt_();
        if (!this->more_() || this->peek_() != ')') {
          this->ok = false;
          return inner;
        }
        this->pos_++;
        return inner;
      }
      case '.':
        node.negate = true;
        node.ranges.emplace_back('\n', '\n');
        return this->add_(std::move(node));
      case '\\':
        this->escape_(node);
        return this->add_(std::move(node));
      case '[':
        this->class_(node);
        return this->add_(std::move(node));
      case ')':
      case '*':
      case '+':
      case '?':
      case '{':
        this->ok = false;
        return this->add_(std::move(node));
      default:
        node.ranges.emplace_back(c, c);
        return this->add_(std::move(node));
    }
  }

  void class_(Pattern::Node &set) {
    if (this->more_() && this->peek_() == '^') {
      set.negate = true;
      this->pos_++;
    }
    bool first = true;
    while (true) {
      if (!this->more_()) {
        this->ok = false;
        return;
      }
      uint32_t c = this->src_[this->pos_++];
      if (c == ']' && !first)
        return;
      first = false;
      if (c == '\\') {
        this->escape_(set);
        if (!this->ok)
          return;
        continue;
      }
      uint32_t hi = c;
      if (this->pos_ + 1 < this->src_.size() && this->peek_() == '-' && this->src_[this->pos_ + 1] != ']') {
        hi = this->src_[this->pos_ + 1];
        this->pos_ += 2;
        if (hi == '\\' || hi < c) {
          this->ok = false;
          return;
        }
      }
      set.ranges.emplace_back(c, hi);
    }
  }
};

using Cont = std::function<bool(size_t)>;

bool set_matches(const Pattern::Node &node, uint32_t c) {
  bool in = (node.space && is_space_cp(c)) || (node.digit && is_digit_cp(c)) || (node.word && is_word_cp(c));
  for (const auto &r : node.ranges) {
    if (c >= r.first && c <= r.second) {
      in = true;
      break;
    }
  }
  return in != node.negate;
}

class Matcher {
 public:
  Matcher(const std::vector<Pattern::Node> &nodes, const std::vector<uint32_t> &text) : nodes_(nodes), text_(text) {}

  bool match(int idx, size_t pos, const Cont &k) const {
    const Pattern::Node &node = this->nodes_[idx];
    switch (node.kind) {
      case Pattern::Node::SET:
        return pos < this->text_.size() && set_matches(node, this->text_[pos]) && k(pos + 1);
      case Pattern::Node::BEGIN:
        return pos == 0 && k(pos);
      case Pattern::Node::END:
        return pos == this->text_.size() && k(pos);
      case Pattern::Node::SEQ:
        return this->seq_(node, 0, pos, k);
      case Pattern::Node::ALT:
        for (int child : node.children) {
          if (this->match(child, pos, k))
            return true;
        }
        return false;
      case Pattern::Node::REPEAT: {
        const Pattern::Node &child = this->nodes_[node.children[0]];
        if (child.kind == Pattern::Node::SET) {
          // Greedy without recursion: count, then back off.
          size_t count = 0;
          size_t limit = node.max < 0 ? this->text_.size() : static_cast<size_t>(node.max);
          while (count < limit && pos + count < this->text_.size() && set_matches(child, this->text_[pos + count]))
            count++;
          for (size_t c = count + 1; c-- > static_cast<size_t>(node.min);) {
            if (k(pos + c))
              return true;
          }
          return false;
        }
        return this->repeat_(node, 0, pos, k);
      }
    }
    return false;
  }

 protected:
  const std::vector<Pattern::Node> &nodes_;
  const std::vector<uint32_t> &text_;

  bool seq_(const Pattern::Node &node, size_t i, size_t pos, const Cont &k) const {
    if (i == node.children.size())
      return k(pos);
    return this->match(node.children[i], pos, [&](size_t p) { return this->seq_(node, i + 1, p, k); });
  }

  bool repeat_(const Pattern::Node &node, int count, size_t pos, const Cont &k) const {
    if (node.max < 0 || count < node.max) {
      bool matched = this->match(node.children[0], pos, [&](size_t p) {
        return p != pos && this->repeat_(node, count + 1, p, k);
      });
      if (matched)
        return true;
    }
    return count >= node.min && k(pos);
  }
};

}  // namespace

Pattern::Pattern(const std::string &source) {
  std::vector<uint32_t> src = utf8_decode(source);
  PatternParser parser(src, this->nodes_);
  this->root_ = parser.parse();
  this->valid_ = parser.ok;
}

bool Pattern::full_match(const std::string &text) const {
  if (!this->valid_)
    return false;
  std::vector<uint32_t> cps = utf8_decode(text);
  Matcher matcher(this->nodes_, cps);
  size_t n = cps.size();
  return matcher.match(this->root_, 0, [n](size_t p) { return p == n; });
}

// --- SchemaValidator ---------------------------------------------------------------------------

static std::string join_key(const std::string &path, const std::string &key) {
  return path.empty() ? key : path + "." + key;
}

static std::string join_index(const std::string &path, size_t i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "[%u]", static_cast<unsigned>(i));
  return path + buf;
}

static bool fail(ProtoError &error, ErrorCode code, const std::string &path) {
  error.code = code;
  error.path = path;
  return false;
}

SchemaValidator::SchemaValidator(const char *schema_json) {
  JsonError err;
  this->schema_ = json_parse(schema_json, strlen(schema_json), err, 32);
  this->valid_ = err == JsonError::NONE && this->schema_.is_object();
}

const Pattern &SchemaValidator::pattern_(const std::string &source) const {
  for (const auto &p : this->patterns_) {
    if (p.first == source)
      return p.second;
  }
  this->patterns_.emplace_back(source, Pattern(source));
  return this->patterns_.back().second;
}

bool SchemaValidator::validate(const JsonValue &value, JsonValue &normalised, ProtoError &error) const {
  if (!this->valid_)
    return fail(error, ErrorCode::BAD_VALUE, "");
  error = ProtoError();
  return this->check_(this->schema_, value, "", normalised, error);
}

bool SchemaValidator::check_(const JsonValue &schema, const JsonValue &value, const std::string &path,
                             JsonValue &out, ProtoError &error) const {
  const JsonValue *konst = schema.get("const");
  if (konst != nullptr && !value.equals(*konst)) {
    // Python compares 1 == 1.0 as equal; equals() does too for numbers.
    return fail(error, ErrorCode::BAD_VALUE, path);
  }
  std::vector<std::string> types;
  if (const JsonValue *t = schema.get("type")) {
    if (t->is_string()) {
      types.push_back(t->as_string());
    } else {
      for (const auto &item : t->items())
        types.push_back(item.as_string());
    }
  }
  out = value;
  if (!types.empty()) {
    bool matched = false;
    for (const auto &kind : types) {
      if (kind == "object" && value.is_object()) {
        matched = true;
        out = JsonValue::object();
        for (const auto &key : schema.get("required") ? schema.get("required")->items() : std::vector<JsonValue>()) {
          if (!value.has(key.as_string()))
            return fail(error, ErrorCode::MISSING_FIELD, join_key(path, key.as_string()));
        }
        if (const JsonValue *one_of = schema.get("oneOf")) {
          int present = 0;
          std::string names;
          for (const auto &alt : one_of->items()) {
            bool all = true;
            for (const auto &key : alt.get("required")->items()) {
              if (!names.empty())
                names += "|";
              names += key.as_string();
              if (!value.has(key.as_string()))
                all = false;
            }
            if (all)
              present++;
          }
          if (present != 1)
            return fail(error, present == 0 ? ErrorCode::MISSING_FIELD : ErrorCode::BAD_VALUE, join_key(path, names));
        }
        const JsonValue *props = schema.get("properties");
        for (const auto &member : value.members()) {
          const JsonValue *sub = props != nullptr ? props->get(member.first) : nullptr;
          if (sub == nullptr)
            continue;  // unknown fields are ignored and dropped
          JsonValue item;
          if (!this->check_(*sub, member.second, join_key(path, member.first), item, error))
            return false;
          out.set(member.first, std::move(item));
        }
        break;
      }
      if (kind == "array" && value.is_array()) {
        matched = true;
        size_t n = value.items().size();
        if (const JsonValue *mi = schema.get("minItems"); mi != nullptr && n < static_cast<size_t>(mi->as_int()))
          return fail(error, ErrorCode::OUT_OF_RANGE, path);
        if (const JsonValue *ma = schema.get("maxItems"); ma != nullptr && n > static_cast<size_t>(ma->as_int()))
          return fail(error, ErrorCode::OUT_OF_RANGE, path);
        if (const JsonValue *items = schema.get("items")) {
          out = JsonValue::array();
          for (size_t i = 0; i < n; i++) {
            JsonValue item;
            if (!this->check_(*items, value.items()[i], join_index(path, i), item, error))
              return false;
            out.push(std::move(item));
          }
        }
        break;
      }
      if (kind == "boolean" && value.is_bool()) {
        matched = true;
        break;
      }
      if (kind == "string" && value.is_string()) {
        matched = true;
        size_t len = utf8_length(value.as_string());
        if (const JsonValue *ml = schema.get("minLength"); ml != nullptr && len < static_cast<size_t>(ml->as_int()))
          return fail(error, ErrorCode::OUT_OF_RANGE, path);
        if (const JsonValue *ml = schema.get("maxLength"); ml != nullptr && len > static_cast<size_t>(ml->as_int()))
          return fail(error, ErrorCode::OUT_OF_RANGE, path);
        if (const JsonValue *pat = schema.get("pattern");
            pat != nullptr && !this->pattern_(pat->as_string()).full_match(value.as_string()))
          return fail(error, ErrorCode::BAD_VALUE, path);
        break;
      }
      if ((kind == "number" || kind == "integer") && value.is_number()) {
        matched = true;
        double d = value.as_double();
        if (!std::isfinite(d))
          return fail(error, ErrorCode::NOT_FINITE, path);
        if (kind == "integer" && !value.is_integral())
          return fail(error, ErrorCode::WRONG_TYPE, path);
        if (const JsonValue *mn = schema.get("minimum"); mn != nullptr && d < mn->as_double())
          return fail(error, ErrorCode::OUT_OF_RANGE, path);
        if (const JsonValue *mx = schema.get("maximum"); mx != nullptr && d > mx->as_double())
          return fail(error, ErrorCode::OUT_OF_RANGE, path);
        if (kind == "integer" && !value.is_integer_literal())
          out = JsonValue::integer(static_cast<int64_t>(d));
        break;
      }
    }
    if (!matched)
      return fail(error, ErrorCode::WRONG_TYPE, path);
  }
  if (const JsonValue *en = schema.get("enum")) {
    bool found = false;
    for (const auto &option : en->items()) {
      if (out.equals(option)) {
        found = true;
        break;
      }
    }
    if (!found)
      return fail(error, ErrorCode::BAD_VALUE, path);
  }
  return true;
}

}  // namespace automationone
}  // namespace esphome
