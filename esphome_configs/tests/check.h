#pragma once
// Minimal test bookkeeping shared by the host test drivers.
#include <cstdio>
#include <string>

namespace ao_test {

struct Counter {
  int passed{0};
  int failed{0};
};

inline Counter &counter() {
  static Counter c;
  return c;
}

inline bool check(bool ok, const std::string &what) {
  if (ok) {
    counter().passed++;
  } else {
    counter().failed++;
    printf("FAIL %s\n", what.c_str());
  }
  return ok;
}

}  // namespace ao_test
