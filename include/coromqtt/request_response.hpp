// The responder's side of request/response [MQTT-4.10]: the reply to a request message goes to the request's
// Response Topic and carries its Correlation Data unchanged, so that the requester can match it (the
// requester's side is client::co_request).
//
//   auto request = co_await client.co_receive();
//   if (auto reply = coromqtt::make_response(request, compute(request.payload)))
//     co_await client.co_publish(std::move(*reply));
#pragma once

#include <coromqtt/message.hpp>

#include <optional>
#include <string>
#include <utility>

namespace coromqtt {

// The response to `request`: topic = its Response Topic, its Correlation Data copied (when it has one), the
// request's QoS, and no Response Topic of its own (a response is not a request). nullopt when the request has
// no Response Topic: nobody waits for an answer. Change the returned message as needed before publishing it.
inline std::optional<message> make_response(const message& request, std::string payload) {
  if (!request.properties.response_topic || request.properties.response_topic->empty()) return std::nullopt;
  message response;
  response.topic = *request.properties.response_topic;
  response.payload = std::move(payload);
  response.qos = request.qos;
  response.properties.correlation_data = request.properties.correlation_data;
  return response;
}

}  // namespace coromqtt
