// virtual-esp: the firmware core on the POSIX HAL, talking to a real broker through
// libmosquitto. Behaves like a flashed board: retained announce and status (LWT), heartbeat,
// applies pushed configs with a config/ack, publishes simulated raw readings, obeys actuator,
// system and emergency commands, buffers readings while the broker is away.
//
//   virtual-esp --host 127.0.0.1 --port 1883 --esp-id ve-01 --board esp32dev
//               [--kaiser-id god] [--name "Greenhouse 1"] [--storage DIR]
//               [--username U --password P] [--heartbeat S] [--fw-version V] [--quiet]
//
// Firmware updates (`ota`) download over HTTP into <storage>/firmware.img (or memory), and the
// "reboot" re-executes the process running the image's version (see posix/ota_posix.h).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "a1/boot.h"
#include "a1/device.h"
#include "mosquitto_transport.h"
#include "posix_hal.h"

namespace {
volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

constexpr uint64_t kMaxIdleMs = 200;

void usage() {
  fprintf(stderr,
          "usage: virtual-esp --host HOST --port PORT [--esp-id ID] [--board esp32dev|seeed_xiao_esp32c3]\n"
          "                   [--kaiser-id god] [--name NAME] [--storage DIR]\n"
          "                   [--username USER --password PASS] [--heartbeat SECONDS] [--fw-version V] [--quiet]\n");
}
// Re-executes with the same arguments; after an update, with --fw-version of the new image.
void exec_again(int argc, char **argv, const char *new_version) {
  static char *args[128];
  int n = 0;
  for (int i = 0; i < argc && n < 124; i++) {
    if (strcmp(argv[i], "--fw-version") == 0 && i + 1 < argc) {
      i++;
      continue;
    }
    args[n++] = argv[i];
  }
  static char version[33];
  if (new_version != nullptr && new_version[0] != '\0') {
    snprintf(version, sizeof(version), "%s", new_version);
    args[n++] = const_cast<char *>("--fw-version");
    args[n++] = version;
  }
  args[n] = nullptr;
  execv("/proc/self/exe", args);
}
}  // namespace

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 1883;
  a1::DeviceOptions options;
  const char *storage = nullptr;
  const char *username = nullptr;
  const char *password = nullptr;
  bool quiet = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (strcmp(arg, "--quiet") == 0) {
      quiet = true;
      continue;
    }
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage();
      return 0;
    }
    if (next == nullptr) {
      usage();
      return 2;
    }
    if (strcmp(arg, "--host") == 0) host = next;
    else if (strcmp(arg, "--port") == 0) port = atoi(next);
    else if (strcmp(arg, "--esp-id") == 0) options.esp_id = next;
    else if (strcmp(arg, "--board") == 0) options.board = next;
    else if (strcmp(arg, "--kaiser-id") == 0) options.kaiser_id = next;
    else if (strcmp(arg, "--name") == 0) options.name = next;
    else if (strcmp(arg, "--storage") == 0) storage = next;
    else if (strcmp(arg, "--username") == 0) username = next;
    else if (strcmp(arg, "--heartbeat") == 0) options.heartbeat_s = static_cast<uint32_t>(atoi(next));
    else if (strcmp(arg, "--password") == 0) password = next;
    else if (strcmp(arg, "--fw-version") == 0) options.fw_version = next;
    else {
      usage();
      return 2;
    }
    i++;
  }
  if (options.esp_id[0] != '\0' && !a1::valid_id(options.esp_id)) {
    fprintf(stderr, "invalid --esp-id (1-32 of A-Z a-z 0-9 _ -)\n");
    return 2;
  }
  if (strlen(options.name) > 64) {
    fprintf(stderr, "--name: at most 64 characters\n");
    return 2;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  static a1::posix::MosquittoTransport mqtt(host, port);
  if (username != nullptr) mqtt.set_credentials(username, password);
  static a1::posix::PosixBoard board(false, options.esp_id[0] != '\0' ? options.esp_id : "virtual-esp", mqtt, storage);
  board.system.set_quiet(quiet);
  // The installed image decides the version, as on a board (its firmware.img, if any).
  static char boot_version[33];
  if (board.firmware.boot_version(boot_version, sizeof(boot_version))) options.fw_version = boot_version;
  board.adc.set_esp32c3(strcmp(options.board, "seeed_xiao_esp32c3") == 0);
  a1::Hal hal = board.hal();
  static a1::Device device(hal, options);
  // The board's power-up sequence: safe pins and the stored config, then the network.
  static a1::Boot boot(hal, device, board.network);
  if (!boot.setup()) {
    fprintf(stderr, "setup failed (board '%s')\n", options.board);
    return 2;
  }
  printf("virtual-esp %s board=%s broker=%s:%d\n", device.esp_id(), options.board, host, port);
  while (!g_stop) {
    boot.loop();
    if (board.system.restarts() > 0) {
      // restart / factory_reset / installed update: let queued messages out, drop the
      // connection like a reboot (the broker sends the LWT), start again as a fresh process.
      for (int i = 0; i < 10; i++) mqtt.wait(10);
      fflush(nullptr);
      exec_again(argc, argv, board.firmware.installed_version());
      return 3;
    }
    if (mqtt.connected()) {
      // Asleep until the core's next timed work or a message, as a board would idle: polling
      // every 5 ms, 500 of these kept two cores busy. The cap bounds what the core does not
      // schedule (the transport's keep-alive).
      uint64_t now = board.clock.millis();
      uint64_t due = boot.next_due_ms();
      uint64_t idle = due > now ? due - now : 0;
      mqtt.wait(static_cast<int>(idle < 1 ? 1 : idle > kMaxIdleMs ? kMaxIdleMs : idle));
    } else {
      usleep(5000);
    }
  }
  char status[a1::kTopicCap];
  a1::build_topic(status, sizeof(status), device.kaiser_id(), device.esp_id(), a1::TopicKind::kStatus);
  mqtt.disconnect(status);
  return 0;
}
