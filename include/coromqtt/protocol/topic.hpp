// Topic names and topic filters [MQTT-4.7].
#pragma once

#include <optional>
#include <string_view>
#include <system_error>

namespace coromqtt::protocol {

// A topic name, as PUBLISH carries it: at least one character, no wildcards, at most 65,535 bytes of valid
// UTF-8 [MQTT-4.7.3-1], [MQTT-4.7.3-2], [MQTT-4.7.3-3]. Returns error::invalid_topic_name (or the UTF-8 error).
std::error_code validate_topic_name(std::string_view topic) noexcept;

// A topic filter, as SUBSCRIBE and UNSUBSCRIBE carry it: '#' only last and alone in its level
// [MQTT-4.7.1-1], '+' alone in its level [MQTT-4.7.1-2], and for a shared subscription
// "$share/{ShareName}/{filter}" a non-empty ShareName without wildcards and a non-empty filter [MQTT-4.8.2-1],
// [MQTT-4.8.2-2]. Returns error::invalid_topic_filter (or the UTF-8 error).
std::error_code validate_topic_filter(std::string_view filter) noexcept;

// Whether `topic` matches `filter`. A filter starting with a wildcard does not match a topic starting with '$'
// [MQTT-4.7.2-1]. A shared subscription filter matches by its inner filter. Both arguments must be valid.
bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

struct shared_subscription {
  std::string_view share_name;
  std::string_view filter;
};

// Splits "$share/{ShareName}/{filter}"; nullopt for a filter that is not a shared subscription.
std::optional<shared_subscription> parse_shared_subscription(std::string_view filter) noexcept;

}  // namespace coromqtt::protocol
