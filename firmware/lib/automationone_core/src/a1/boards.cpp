#include "a1/boards.h"

#include <string.h>

namespace a1 {

namespace {
#include "a1/generated/board_tables.inc"
}  // namespace

const BoardInfo *find_board(const char *name) {
  for (const BoardInfo &b : kBoards) {
    if (strcmp(b.name, name) == 0) return &b;
  }
  return nullptr;
}

const PinInfo *find_pin(const BoardInfo &board, int gpio) {
  for (uint8_t i = 0; i < board.pin_count; i++) {
    if (board.pins[i].gpio == gpio) return &board.pins[i];
  }
  return nullptr;
}

int board_count() { return static_cast<int>(sizeof(kBoards) / sizeof(kBoards[0])); }
const BoardInfo &board_at(int i) { return kBoards[i]; }

}  // namespace a1
