// Host test of the component's plain C++ (no ESPHome headers): protocol and safety vectors.
#include <cstdio>

#include "check.h"
#include "vector_tests.h"

int main(int argc, char **argv) {
  std::string dir = argc > 1 ? argv[1] : "../tests/vectors";
  ao_test::run_topic_vectors(dir);
  ao_test::run_payload_vectors(dir);
  ao_test::run_builder_vectors(dir);
  ao_test::run_timeline_vectors(dir);
  printf("core: %d checks passed, %d failed\n", ao_test::counter().passed, ao_test::counter().failed);
  return ao_test::counter().failed == 0 ? 0 : 1;
}
