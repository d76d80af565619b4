// Readings and the offline ring buffer.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace a1 {

struct Reading {
  uint64_t sample_ms = 0;  // device clock (millis) when sampled
  uint64_t ts = 0;         // Unix ms when known at sample time, else 0 (filled at send time)
  double value = 0;        // with has_value
  double raw = 0;          // single raw number (an ADC count, a level; ESPHome: the raw state)
  uint16_t words[5] = {0};
  uint8_t nwords = 0;      // > 0: raw is an array of words
  uint8_t gpio = 0;
  bool has_value = false;
  char unit[17] = {0};
  char addr[17] = {0};
  char quality[13] = {0};
  char quantity[17] = {0};  // empty: the type's first quantity (SHT31: temperature)
};

// Fixed-capacity FIFO; when full the oldest reading is dropped (and counted).
template <size_t N>
class RingBuffer {
 public:
  static constexpr size_t kCapacity = N;
  void push(const Reading &r) {
    if (this->count_ == N) {
      this->head_ = (this->head_ + 1) % N;
      this->count_--;
      this->dropped_++;
    }
    this->items_[(this->head_ + this->count_) % N] = r;
    this->count_++;
  }
  const Reading &front() const { return this->items_[this->head_]; }
  void pop() {
    if (this->count_ == 0) return;
    this->head_ = (this->head_ + 1) % N;
    this->count_--;
  }
  size_t size() const { return this->count_; }
  bool empty() const { return this->count_ == 0; }
  uint32_t dropped() const { return this->dropped_; }
  void clear() { this->head_ = this->count_ = 0; }

 private:
  Reading items_[N];
  size_t head_ = 0;
  size_t count_ = 0;
  uint32_t dropped_ = 0;
};

}  // namespace a1
