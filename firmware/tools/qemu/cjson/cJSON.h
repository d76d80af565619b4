// The part of cJSON's API the firmware tests use (tests/vectors.h reads the shared vector files
// with it), for the emulated Cortex-M4 run only: Debian ships cJSON for the host, not for
// arm-none-eabi. Parsing is nlohmann::ordered_json's (Debian's nlohmann-json3-dev, header-only;
// key order kept as in the file); the tree and the printer follow cJSON 1.7's shapes and number
// format, so the tests run unchanged. Test code only: it allocates freely.
#pragma once

#include <math.h>

#include <cmath>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nlohmann/json.hpp>
#include <string>

#define cJSON_Invalid (0)
#define cJSON_False (1 << 0)
#define cJSON_True (1 << 1)
#define cJSON_NULL (1 << 2)
#define cJSON_Number (1 << 3)
#define cJSON_String (1 << 4)
#define cJSON_Array (1 << 5)
#define cJSON_Object (1 << 6)

typedef int cJSON_bool;

struct cJSON {
  cJSON *next = nullptr;
  cJSON *prev = nullptr;
  cJSON *child = nullptr;
  int type = cJSON_Invalid;
  char *valuestring = nullptr;
  int valueint = 0;
  double valuedouble = 0;
  char *string = nullptr;
};

#define cJSON_ArrayForEach(element, array) \
  for (element = (array != NULL) ? (array)->child : NULL; element != NULL; element = element->next)

namespace cjson_compat {
inline char *dup(const std::string &s) {
  char *p = static_cast<char *>(malloc(s.size() + 1));
  memcpy(p, s.data(), s.size() + 1);
  return p;
}
inline void set_number(cJSON *item, double d) {
  item->type = cJSON_Number;
  item->valuedouble = d;
  item->valueint = d >= 2147483647.0 ? 2147483647 : d <= -2147483648.0 ? -2147483647 - 1 : static_cast<int>(d);
}
inline void append(cJSON *parent, cJSON *item) {
  if (parent->child == nullptr) {
    parent->child = item;
    item->prev = item;  // cJSON keeps the last element in child->prev
    return;
  }
  cJSON *last = parent->child->prev;
  last->next = item;
  item->prev = last;
  parent->child->prev = item;
}
inline cJSON *convert(const nlohmann::ordered_json &j) {
  cJSON *item = new cJSON();
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      item->type = cJSON_NULL;
      break;
    case nlohmann::ordered_json::value_t::boolean:
      item->type = j.get<bool>() ? cJSON_True : cJSON_False;
      item->valueint = j.get<bool>() ? 1 : 0;
      break;
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
    case nlohmann::ordered_json::value_t::number_float:
      set_number(item, j.get<double>());
      break;
    case nlohmann::ordered_json::value_t::string:
      item->type = cJSON_String;
      item->valuestring = dup(j.get<std::string>());
      break;
    case nlohmann::ordered_json::value_t::array:
      item->type = cJSON_Array;
      for (const auto &e : j) append(item, convert(e));
      break;
    case nlohmann::ordered_json::value_t::object:
      item->type = cJSON_Object;
      for (auto it = j.begin(); it != j.end(); ++it) {
        cJSON *child = convert(it.value());
        child->string = dup(it.key());
        append(item, child);
      }
      break;
    default:
      break;
  }
  return item;
}
inline void print_string(std::string &out, const char *s) {
  out += '"';
  for (const unsigned char *p = reinterpret_cast<const unsigned char *>(s); *p; p++) {
    switch (*p) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (*p < 32) {
          char buf[8];
          snprintf(buf, sizeof(buf), "\\u%04x", *p);
          out += buf;
        } else {
          out += static_cast<char>(*p);
        }
    }
  }
  out += '"';
}
inline void print(std::string &out, const cJSON *item) {
  switch (item->type & 0xFF) {
    case cJSON_NULL: out += "null"; return;
    case cJSON_False: out += "false"; return;
    case cJSON_True: out += "true"; return;
    case cJSON_Number: {
      double d = item->valuedouble;
      char buf[32];
      if (std::isnan(d) || std::isinf(d)) {
        snprintf(buf, sizeof(buf), "null");
      } else if (d == static_cast<double>(item->valueint)) {
        snprintf(buf, sizeof(buf), "%d", item->valueint);
      } else {
        snprintf(buf, sizeof(buf), "%1.15g", d);
        if (strtod(buf, nullptr) != d) snprintf(buf, sizeof(buf), "%1.17g", d);
      }
      out += buf;
      return;
    }
    case cJSON_String: print_string(out, item->valuestring); return;
    case cJSON_Array:
    case cJSON_Object: {
      bool object = (item->type & 0xFF) == cJSON_Object;
      out += object ? '{' : '[';
      for (const cJSON *c = item->child; c != nullptr; c = c->next) {
        if (c != item->child) out += ',';
        if (object) {
          print_string(out, c->string);
          out += ':';
        }
        print(out, c);
      }
      out += object ? '}' : ']';
      return;
    }
    default:
      return;
  }
}
}  // namespace cjson_compat

inline cJSON *cJSON_Parse(const char *text) {
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return nullptr;
  return cjson_compat::convert(j);
}
inline void cJSON_Delete(cJSON *item) {
  while (item != nullptr) {
    cJSON *next = item->next;
    cJSON_Delete(item->child);
    free(item->valuestring);
    free(item->string);
    delete item;
    item = next;
  }
}
inline void cJSON_free(void *p) { free(p); }
inline int cJSON_GetArraySize(const cJSON *array) {
  int n = 0;
  for (const cJSON *c = array == nullptr ? nullptr : array->child; c != nullptr; c = c->next) n++;
  return n;
}
inline cJSON *cJSON_GetArrayItem(const cJSON *array, int index) {
  cJSON *c = array == nullptr ? nullptr : array->child;
  for (; c != nullptr && index > 0; index--) c = c->next;
  return index == 0 ? c : nullptr;
}
inline cJSON *cJSON_GetObjectItemCaseSensitive(const cJSON *object, const char *key) {
  for (cJSON *c = object == nullptr ? nullptr : object->child; c != nullptr; c = c->next) {
    if (c->string != nullptr && strcmp(c->string, key) == 0) return c;
  }
  return nullptr;
}
inline cJSON_bool cJSON_IsInvalid(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_Invalid; }
inline cJSON_bool cJSON_IsFalse(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_False; }
inline cJSON_bool cJSON_IsTrue(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_True; }
inline cJSON_bool cJSON_IsBool(const cJSON *i) { return i != nullptr && (i->type & (cJSON_True | cJSON_False)) != 0; }
inline cJSON_bool cJSON_IsNull(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_NULL; }
inline cJSON_bool cJSON_IsNumber(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_Number; }
inline cJSON_bool cJSON_IsString(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_String; }
inline cJSON_bool cJSON_IsArray(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_Array; }
inline cJSON_bool cJSON_IsObject(const cJSON *i) { return i != nullptr && (i->type & 0xFF) == cJSON_Object; }
inline char *cJSON_GetStringValue(const cJSON *i) { return cJSON_IsString(i) ? i->valuestring : nullptr; }
inline double cJSON_GetNumberValue(const cJSON *i) { return cJSON_IsNumber(i) ? i->valuedouble : NAN; }
inline cJSON *cJSON_Duplicate(const cJSON *item, cJSON_bool recurse) {
  if (item == nullptr) return nullptr;
  cJSON *copy = new cJSON();
  copy->type = item->type;
  copy->valueint = item->valueint;
  copy->valuedouble = item->valuedouble;
  if (item->valuestring != nullptr) copy->valuestring = cjson_compat::dup(item->valuestring);
  if (item->string != nullptr) copy->string = cjson_compat::dup(item->string);
  if (recurse) {
    for (const cJSON *c = item->child; c != nullptr; c = c->next) cjson_compat::append(copy, cJSON_Duplicate(c, 1));
  }
  return copy;
}
inline cJSON *cJSON_AddNumberToObject(cJSON *object, const char *name, double number) {
  cJSON *item = new cJSON();
  cjson_compat::set_number(item, number);
  item->string = cjson_compat::dup(name);
  cjson_compat::append(object, item);
  return item;
}
inline char *cJSON_PrintUnformatted(const cJSON *item) {
  std::string out;
  cjson_compat::print(out, item);
  return cjson_compat::dup(out);
}
