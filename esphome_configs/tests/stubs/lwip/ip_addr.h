#pragma once
// Stub for the board-path syntax check (see esphome.mk): lwIP is not on the host.
