#pragma once
#include "WiFi.h"
#define MQTT_CONNECT_BAD_CREDENTIALS 4
#define MQTT_CONNECT_UNAUTHORIZED 5
#define MQTT_CALLBACK_SIGNATURE std::function<void(char *, uint8_t *, unsigned int)> callback
class PubSubClient {
 public:
  PubSubClient(WiFiClient &client);
  PubSubClient &setClient(WiFiClient &client);
  PubSubClient &setServer(const char *domain, uint16_t port);
  PubSubClient &setCallback(MQTT_CALLBACK_SIGNATURE);
  PubSubClient &setKeepAlive(uint16_t keepAlive);
  PubSubClient &setSocketTimeout(uint16_t timeout);
  boolean setBufferSize(uint16_t size);
  boolean connect(const char *id, const char *user, const char *pass, const char *willTopic, uint8_t willQos,
                  boolean willRetain, const char *willMessage, boolean cleanSession);
  boolean connected();
  boolean publish(const char *topic, const uint8_t *payload, unsigned int plength, boolean retained);
  boolean subscribe(const char *topic, uint8_t qos);
  boolean loop();
  void disconnect();
  int state();
};
