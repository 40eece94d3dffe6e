// -D COMMAND NAME VALUE: the MQTT 5 properties of CONNECT, PUBLISH, the will, SUBSCRIBE and DISCONNECT that
// pub and sub can send (docs/cli.md lists them, and what is refused and why).
#include "cli_parsing.hpp"

namespace coromqtt::tools::cli_parsing {

namespace {

constexpr std::uint32_t max_subscription_identifier = 268'435'455;  // a Variable Byte Integer's range

// Message properties, for -D publish and -D will. Returns false for a name that is not one of them.
bool add_message_property(std::string_view name, std::string_view flag, argument_cursor& args,
                          message_properties& p) {
  if (name == "payload-format-indicator") {
    p.payload_format_indicator = parse_integer<std::uint8_t>(flag, args.value(flag, "0 or 1"), 0, 1);
  } else if (name == "message-expiry-interval") {
    p.message_expiry_interval = property_u32(flag, args.value(flag, "a number of seconds"));
  } else if (name == "content-type") {
    p.content_type = std::string{args.value(flag, "a content type")};
  } else if (name == "response-topic") {
    p.response_topic = check_topic_name(flag, args.value(flag, "a topic"));
  } else if (name == "correlation-data") {
    p.correlation_data = std::string{args.value(flag, "the correlation data")};
  } else if (name == "user-property") {
    const auto key = args.value(flag, "a name and a value");
    const auto value = args.value(flag, "a name and a value");
    p.user_properties.emplace_back(std::string{key}, std::string{value});
  } else {
    return false;
  }
  return true;
}

constexpr std::string_view message_property_names =
    "payload-format-indicator, message-expiry-interval, content-type, response-topic, correlation-data, "
    "user-property";

[[noreturn]] void unsupported_property(std::string_view packet, std::string_view name,
                                       std::string_view supported) {
  throw usage_error("-D " + std::string{packet} + " " + std::string{name} + ": not a " + std::string{packet} +
                    " property coromqtt can send (it can: " + std::string{supported} + ")");
}

}  // namespace

// -D command identifier value, or -D command user-property name value.
void parse_property(argument_cursor& args, common_flags& f, parse_state& state, command which) {
  const auto packet = lowercase(args.value("-D", "a command, a property name and a value"));
  const auto name = lowercase(args.value("-D", "a command, a property name and a value"));
  const std::string flag = "-D " + packet + " " + name;
  auto& p = f.properties;
  state.require_v5("-D");

  if (packet == "connect") {
    constexpr std::string_view supported =
        "user-property, session-expiry-interval, receive-maximum, maximum-packet-size, topic-alias-maximum, "
        "request-problem-information";
    if (name == "user-property") {
      const auto key = args.value(flag, "a name and a value");
      const auto value = args.value(flag, "a name and a value");
      p.connect_user_properties.emplace_back(std::string{key}, std::string{value});
    } else if (name == "session-expiry-interval") {
      state.property_session_expiry = property_u32(flag, args.value(flag, "a number of seconds"));
    } else if (name == "receive-maximum") {
      p.connect_receive_maximum = parse_integer<std::uint16_t>(flag, args.value(flag, "a number"), 1, 65535);
    } else if (name == "maximum-packet-size") {
      p.connect_maximum_packet_size = parse_integer<std::uint32_t>(
          flag, args.value(flag, "a number of bytes"), 1, protocol::max_packet_size);
    } else if (name == "topic-alias-maximum") {
      p.connect_topic_alias_maximum =
          parse_integer<std::uint16_t>(flag, args.value(flag, "a number"), 0, 65535);
    } else if (name == "request-problem-information") {
      p.connect_request_problem_information =
          parse_integer<std::uint8_t>(flag, args.value(flag, "0 or 1"), 0, 1) == 1;
    } else {
      unsupported_property("connect", name, supported);
    }
  } else if (packet == "publish" && which == command::pub) {
    if (!add_message_property(name, flag, args, p.publish))
      unsupported_property("publish", name, message_property_names);
  } else if (packet == "will") {
    if (name == "will-delay-interval") {
      p.will_delay_interval = property_u32(flag, args.value(flag, "a number of seconds"));
    } else if (!add_message_property(name, flag, args, p.will)) {
      unsupported_property("will", name, std::string{message_property_names} + ", will-delay-interval");
    }
  } else if (packet == "subscribe" && which == command::sub) {
    if (name == "subscription-identifier") {
      p.subscribe.subscription_identifier =
          parse_integer<std::uint32_t>(flag, args.value(flag, "a number"), 1, max_subscription_identifier);
    } else if (name == "user-property") {
      const auto key = args.value(flag, "a name and a value");
      const auto value = args.value(flag, "a name and a value");
      p.subscribe.user_properties.emplace_back(std::string{key}, std::string{value});
    } else {
      unsupported_property("subscribe", name, "subscription-identifier, user-property");
    }
  } else if (packet == "disconnect") {
    if (name == "session-expiry-interval")
      p.disconnect_session_expiry = property_u32(flag, args.value(flag, "a number of seconds"));
    else
      unsupported_property("disconnect", name, "session-expiry-interval");
  } else {
    const std::string_view commands =
        which == command::pub ? "connect, publish, will, disconnect" : "connect, subscribe, will, disconnect";
    throw usage_error("-D " + packet + ": coromqtt " + (which == command::pub ? "pub" : "sub") +
                      " cannot send properties in that packet (it can in: " + std::string{commands} + ")");
  }
}

}  // namespace coromqtt::tools::cli_parsing
