// SHA-256 (FIPS 180-4), streaming, no heap: checks a firmware image while it downloads.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace a1 {

class Sha256 {
 public:
  Sha256() { this->reset(); }
  void reset();
  void update(const uint8_t *data, size_t len);
  void finish(uint8_t out[32]);
  // Lower-case hex of the digest, 64 characters + NUL.
  void finish_hex(char out[65]);

 private:
  void block(const uint8_t *p);
  uint32_t h_[8];
  uint8_t buf_[64];
  uint64_t total_;
  size_t used_;
};

}  // namespace a1
