// AutomationOne firmware for ESP32 (Arduino): the portable core's boot sequence (a1/boot.h) on
// the Arduino HAL. Everything else — protocol, config intake, sensors, actuator safety, offline
// buffer, the set-up portal's rules — is the core, tested on the host.
#include <Arduino.h>
#include <DallasTemperature.h>
#include <OneWire.h>

#include "a1/boot.h"
#include "a1/device.h"
#include "arduino_hal.h"
#include "ota_arduino.h"

#ifndef A1_BOARD
#define A1_BOARD "esp32dev"
#endif
#ifndef A1_FW_VERSION
#define A1_FW_VERSION "0.1.0"
#endif

namespace {

a1::arduino::Settings g_settings;
a1::arduino::ArduinoClock g_clock;
a1::arduino::ArduinoGpio g_gpio;
a1::arduino::ArduinoAdc g_adc;
a1::arduino::LedcPwm g_pwm;
a1::arduino::ArduinoOneWire g_onewire;
a1::arduino::ArduinoI2c g_i2c;
a1::arduino::NvsStorage g_storage;
a1::arduino::PubSubTransport g_mqtt;
a1::arduino::ArduinoWifi g_wifi;
a1::arduino::ArduinoSystem g_system;
a1::arduino::PortalNetwork g_network(g_settings);
a1::arduino::ArduinoFirmware g_firmware;
a1::Hal g_hal{&g_clock, &g_gpio, &g_adc, &g_pwm, &g_onewire, &g_i2c, &g_storage, &g_mqtt, &g_wifi, &g_system, &g_firmware};
a1::DeviceOptions g_options;
a1::Boot *g_boot = nullptr;

// Lists the DS18B20 ROM codes on a pin in the form the config's `addr` takes.
[[maybe_unused]] void log_ds18b20(uint8_t pin) {
  OneWire bus(pin);
  DallasTemperature sensors(&bus);
  sensors.begin();
  DeviceAddress addr;
  for (uint8_t i = 0; i < sensors.getDeviceCount(); i++) {
    if (!sensors.getAddress(addr, i)) continue;
    Serial.printf("[a1] DS18B20 on GPIO%u: %02x%02x%02x%02x%02x%02x%02x%02x\n", pin, addr[0], addr[1], addr[2], addr[3],
                  addr[4], addr[5], addr[6], addr[7]);
  }
}

}  // namespace

void setup() {
  Serial.begin(115200);
  // Settings are read from NVS and handed over; nothing here waits for the network.
  a1::arduino::load_settings(g_settings);
  uint16_t port = static_cast<uint16_t>(atoi(g_settings.mqtt_port));
  g_mqtt.begin(g_settings.mqtt_host, port, g_settings.mqtt_user, g_settings.mqtt_pass, port == 8883);
  g_options.board = A1_BOARD;
  g_options.kaiser_id = g_settings.kaiser_id;
  g_options.name = g_settings.name;
  g_options.fw_version = A1_FW_VERSION;
  g_options.wifi_on = true;
  a1::BootOptions boot_options;
#ifdef A1_CONFIG_BUTTON
  boot_options.button_gpio = A1_CONFIG_BUTTON;  // BOOT button: a long press after boot
#endif
  static a1::Device device(g_hal, g_options);  // static storage: no heap for the core
  static a1::Boot boot(g_hal, device, g_network, boot_options);
  // Safe pins and the stored config first, then the WiFi station (or the portal when none is stored).
  if (boot.setup()) {
    g_boot = &boot;
  } else {
    Serial.println("[a1] setup failed (unknown board or id)");
  }
  Serial.printf("[a1] %s on %s, broker %s:%s\n", device.esp_id(), A1_BOARD, g_settings.mqtt_host, g_settings.mqtt_port);
#ifdef A1_ONEWIRE_SCAN_PIN
  log_ds18b20(A1_ONEWIRE_SCAN_PIN);
#endif
}

void loop() {
  if (g_boot != nullptr) g_boot->loop();
  delay(1);  // yield to the WiFi task
}
