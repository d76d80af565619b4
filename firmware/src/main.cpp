// AutomationOne firmware for ESP32 (Arduino): WiFi set-up through a captive portal, then the
// portable core (lib/automationone_core) on the Arduino HAL. Everything else — protocol,
// config intake, sensors, actuator safety, offline buffer — is the core, tested on the host.
#include <Arduino.h>
#include <DallasTemperature.h>
#include <OneWire.h>
#include <Preferences.h>
#include <WiFi.h>
#include <WiFiManager.h>

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

// Set-up values the captive portal asks for, kept in NVS (namespace "a1").
struct Settings {
  char mqtt_host[64] = "homeassistant.local";
  char mqtt_port[6] = "1883";  // 8883: MQTT over TLS
  char mqtt_user[65] = "";
  char mqtt_pass[65] = "";
  char kaiser_id[33] = "god";
  char name[65] = "";
};

Settings g_settings;
bool g_save_settings = false;

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
a1::arduino::ArduinoFirmware g_firmware;
a1::Hal g_hal{&g_clock, &g_gpio, &g_adc, &g_pwm, &g_onewire, &g_i2c, &g_storage, &g_mqtt, &g_wifi, &g_system, &g_firmware};
a1::DeviceOptions g_options;
a1::Device *g_device = nullptr;

void load_settings() {
  Preferences p;
  p.begin("a1", true);
  p.getString("mqtt_host", g_settings.mqtt_host, sizeof(g_settings.mqtt_host));
  p.getString("mqtt_port", g_settings.mqtt_port, sizeof(g_settings.mqtt_port));
  p.getString("mqtt_user", g_settings.mqtt_user, sizeof(g_settings.mqtt_user));
  p.getString("mqtt_pass", g_settings.mqtt_pass, sizeof(g_settings.mqtt_pass));
  p.getString("kaiser_id", g_settings.kaiser_id, sizeof(g_settings.kaiser_id));
  p.getString("name", g_settings.name, sizeof(g_settings.name));
  p.end();
}

void store_settings() {
  Preferences p;
  p.begin("a1", false);
  p.putString("mqtt_host", g_settings.mqtt_host);
  p.putString("mqtt_port", g_settings.mqtt_port);
  p.putString("mqtt_user", g_settings.mqtt_user);
  p.putString("mqtt_pass", g_settings.mqtt_pass);
  p.putString("kaiser_id", g_settings.kaiser_id);
  p.putString("name", g_settings.name);
  p.end();
}

bool config_button_held() {
#ifdef A1_CONFIG_BUTTON
  pinMode(A1_CONFIG_BUTTON, INPUT_PULLUP);
  uint32_t start = millis();
  while (digitalRead(A1_CONFIG_BUTTON) == LOW) {
    if (millis() - start > 5000) return true;
    delay(10);
  }
#endif
  return false;
}

// Captive portal "AutomationOne-xxxxxx": WiFi credentials plus broker and ids. Opens when no
// WiFi is stored or the BOOT button is held for 5 s at power-up.
void wifi_setup(const char *ap_name) {
  WiFiManager wm;
  WiFiManagerParameter host("mqtt_host", "MQTT broker (Home Assistant)", g_settings.mqtt_host, sizeof(g_settings.mqtt_host) - 1);
  WiFiManagerParameter port("mqtt_port", "MQTT port", g_settings.mqtt_port, sizeof(g_settings.mqtt_port) - 1);
  WiFiManagerParameter user("mqtt_user", "MQTT user (empty: anonymous)", g_settings.mqtt_user, sizeof(g_settings.mqtt_user) - 1);
  WiFiManagerParameter pass("mqtt_pass", "MQTT password", g_settings.mqtt_pass, sizeof(g_settings.mqtt_pass) - 1);
  WiFiManagerParameter kaiser("kaiser_id", "Kaiser id (god, or a relay's id)", g_settings.kaiser_id, sizeof(g_settings.kaiser_id) - 1);
  WiFiManagerParameter name("name", "Device name (optional)", g_settings.name, sizeof(g_settings.name) - 1);
  wm.addParameter(&host);
  wm.addParameter(&port);
  wm.addParameter(&user);
  wm.addParameter(&pass);
  wm.addParameter(&kaiser);
  wm.addParameter(&name);
  wm.setSaveParamsCallback([]() { g_save_settings = true; });
  wm.setSaveConfigCallback([]() { g_save_settings = true; });
  wm.setConfigPortalTimeout(300);
  bool ok = config_button_held() ? wm.startConfigPortal(ap_name) : wm.autoConnect(ap_name);
  if (g_save_settings) {
    strlcpy(g_settings.mqtt_host, host.getValue(), sizeof(g_settings.mqtt_host));
    strlcpy(g_settings.mqtt_port, port.getValue(), sizeof(g_settings.mqtt_port));
    strlcpy(g_settings.mqtt_user, user.getValue(), sizeof(g_settings.mqtt_user));
    strlcpy(g_settings.mqtt_pass, pass.getValue(), sizeof(g_settings.mqtt_pass));
    strlcpy(g_settings.kaiser_id, kaiser.getValue(), sizeof(g_settings.kaiser_id));
    strlcpy(g_settings.name, name.getValue(), sizeof(g_settings.name));
    if (!a1::valid_id(g_settings.kaiser_id)) strlcpy(g_settings.kaiser_id, "god", sizeof(g_settings.kaiser_id));
    store_settings();
  }
  if (!ok) {
    Serial.println("[a1] no WiFi after the set-up portal timed out: restarting");
    ESP.restart();
  }
}

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
  delay(50);
  load_settings();
  uint8_t mac[6];
  WiFi.mode(WIFI_STA);
  WiFi.macAddress(mac);
  char ap_name[32];
  snprintf(ap_name, sizeof(ap_name), "AutomationOne-%02x%02x%02x", mac[3], mac[4], mac[5]);
  wifi_setup(ap_name);
  WiFi.setAutoReconnect(true);
  WiFi.setSleep(false);  // lower latency for commands
  configTime(0, 0, "pool.ntp.org", "time.google.com");  // device timestamps in UTC ms

#ifdef A1_ONEWIRE_SCAN_PIN
  log_ds18b20(A1_ONEWIRE_SCAN_PIN);
#endif

  uint16_t port = static_cast<uint16_t>(atoi(g_settings.mqtt_port));
  g_mqtt.begin(g_settings.mqtt_host, port, g_settings.mqtt_user, g_settings.mqtt_pass, port == 8883);
  g_options.board = A1_BOARD;
  g_options.kaiser_id = g_settings.kaiser_id;
  g_options.name = g_settings.name;
  g_options.fw_version = A1_FW_VERSION;
  g_options.wifi_on = true;
  static a1::Device device(g_hal, g_options);  // static storage: no heap for the core
  g_device = &device;
  if (!device.setup()) {
    Serial.println("[a1] setup failed");
  }
  Serial.printf("[a1] %s on %s, broker %s:%s\n", device.esp_id(), A1_BOARD, g_settings.mqtt_host, g_settings.mqtt_port);
}

void loop() {
  if (g_device != nullptr) g_device->loop();
  delay(1);  // yield to the WiFi task
}
