// The command lines of pub and sub as a whole (each flag is parsed by the file cli_parsing.hpp names for it),
// and what they add up to: the client id and the client_options.
#include "cli_options.hpp"

#include "cli_format.hpp"
#include "cli_parsing.hpp"

#include <limits>
#include <random>

#include <unistd.h>

namespace coromqtt::tools {

using namespace cli_parsing;

parsed_command_line<pub_flags> parse_pub_command_line(std::span<const std::string_view> arguments) {
  parsed_command_line<pub_flags> result;
  auto& f = result.flags;
  parse_state state;
  bool repeat_given = false;
  const auto set_source = [&](pub_flags::source s) {
    if (f.payload_source != pub_flags::source::none)
      throw usage_error("only one of -m, -f, -n, -l and -s can be given");
    f.payload_source = s;
  };

  argument_cursor args{arguments};
  while (!args.done()) {
    const auto flag = args.take();
    if (flag == "--help") {
      result.help = true;
      return result;
    }
    if (parse_common_flag(flag, args, f.common, state, command::pub)) continue;
    if (flag == "-t" || flag == "--topic") {
      f.topic = check_topic_name(flag, args.value(flag, "a topic"));
    } else if (flag == "-m" || flag == "--message") {
      set_source(pub_flags::source::message);
      f.message = std::string{args.value(flag, "a message")};
    } else if (flag == "-f" || flag == "--file") {
      set_source(pub_flags::source::file);
      f.file = std::string{args.value(flag, "a file name")};
    } else if (flag == "-n" || flag == "--null-message") {
      set_source(pub_flags::source::null_message);
    } else if (flag == "-l" || flag == "--stdin-line") {
      set_source(pub_flags::source::stdin_lines);
    } else if (flag == "-s" || flag == "--stdin-file") {
      set_source(pub_flags::source::stdin_whole);
    } else if (flag == "-r" || flag == "--retain") {
      f.retain = true;
    } else if (flag == "--repeat") {
      f.repeat = parse_integer<std::uint64_t>(flag, args.value(flag, "a count"), 1,
                                              std::numeric_limits<std::uint32_t>::max());
      repeat_given = true;
    } else if (flag == "--repeat-delay") {
      f.repeat_delay = parse_seconds(flag, args.value(flag, "a number of seconds"), true);
    } else {
      unknown_flag(flag);
    }
  }

  finish_common(f.common, state);
  if (f.common.url_has_topic) {
    if (!f.topic.empty()) throw usage_error("the topic is given twice, with -t and in the -L URL");
    f.topic = check_topic_name("-L", f.common.url_topic);
  }
  if (f.topic.empty()) throw usage_error("no topic: give -t (or a topic in the -L URL)");
  if (f.payload_source == pub_flags::source::none) throw usage_error("no message: give -m, -f, -n, -l or -s");
  if (repeat_given && f.payload_source == pub_flags::source::stdin_lines)
    throw usage_error("--repeat cannot be used with -l");
  return result;
}

parsed_command_line<sub_flags> parse_sub_command_line(std::span<const std::string_view> arguments) {
  parsed_command_line<sub_flags> result;
  auto& f = result.flags;
  parse_state state;

  argument_cursor args{arguments};
  while (!args.done()) {
    const auto flag = args.take();
    if (flag == "--help") {
      result.help = true;
      return result;
    }
    if (parse_common_flag(flag, args, f.common, state, command::sub)) continue;
    if (flag == "-t" || flag == "--topic") {
      f.topics.push_back(check_topic_filter(flag, args.value(flag, "a topic filter")));
    } else if (flag == "-T" || flag == "--filter-out") {
      f.filter_out.push_back(check_topic_filter(flag, args.value(flag, "a topic filter")));
    } else if (flag == "-U" || flag == "--unsubscribe") {
      f.unsubscribe.push_back(check_topic_filter(flag, args.value(flag, "a topic filter")));
    } else if (flag == "-C") {
      f.count = parse_integer<std::uint64_t>(flag, args.value(flag, "a message count"), 1,
                                             std::numeric_limits<std::uint32_t>::max());
    } else if (flag == "-W") {
      f.timeout = parse_seconds(flag, args.value(flag, "a number of seconds"), false);
    } else if (flag == "-v" || flag == "--verbose") {
      f.verbose = true;
    } else if (flag == "-N") {
      f.no_end_of_line = true;
    } else if (flag == "-E") {
      f.exit_once_subscribed = true;
    } else if (flag == "-R") {
      f.no_retained = true;
    } else if (flag == "--retained-only") {
      f.retained_only = true;
    } else if (flag == "--remove-retained") {
      f.remove_retained = true;
    } else if (flag == "--retain-as-published") {
      f.retain_as_published = true;
      state.require_v5(flag);
    } else if (flag == "-F") {
      const auto format = args.value(flag, "a format string");
      message_format::parse(format);  // reject a bad format now, as a usage error
      f.format = std::string{format};
    } else {
      unknown_flag(flag);
    }
  }

  finish_common(f.common, state);
  if (f.common.url_has_topic) f.topics.push_back(check_topic_filter("-L", f.common.url_topic));
  if (f.topics.empty() && f.unsubscribe.empty())
    throw usage_error("no topic: give -t (or a topic in the -L URL), or -U");
  if (f.no_retained && f.retained_only) throw usage_error("-R and --retained-only contradict each other");
  return result;
}

std::string client_id(const common_flags& f) {
  if (!f.client_id.empty()) return f.client_id;
  if (!f.client_id_prefix.empty()) return f.client_id_prefix + std::to_string(::getpid());
  if (f.version == protocol_version::v5) return {};  // the broker assigns one
  // MQTT 3.1.1 brokers must accept ids of 1 to 23 letters and digits [MQTT-3.1.3-5]: "coromqtt-" and 14 more.
  constexpr std::string_view alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::random_device entropy;
  std::uniform_int_distribution<std::size_t> pick{0, alphabet.size() - 1};
  std::string id = "coromqtt-";
  for (int i = 0; i < 14; ++i) id += alphabet[pick(entropy)];
  return id;
}

client_options make_client_options(const common_flags& f) {
  client_options o;
  o.brokers = {broker_url(f)};
  o.version = f.version;
  o.client_id = client_id(f);
  if (f.username || f.password) {
    o.credentials = [username = f.username, password = f.password](const credential_request&) {
      credentials c;
      c.username = username;
      c.password = password;
      return c;
    };
  }
  o.keep_alive = std::chrono::seconds{f.keep_alive};
  o.clean_start = !f.disable_clean_session;
  if (f.version == protocol_version::v5) {
    o.session_expiry_interval =
        f.session_expiry.value_or(f.disable_clean_session ? session_never_expires : 0);
    const auto& p = f.properties;
    o.connect_user_properties = p.connect_user_properties;
    if (p.connect_receive_maximum) o.receive_maximum = *p.connect_receive_maximum;
    if (p.connect_maximum_packet_size) o.maximum_packet_size = *p.connect_maximum_packet_size;
    if (p.connect_topic_alias_maximum) o.topic_alias_maximum = *p.connect_topic_alias_maximum;
    if (p.connect_request_problem_information)
      o.request_problem_information = *p.connect_request_problem_information;
  }
  if (f.will_topic) {
    will_message will;
    will.topic = *f.will_topic;
    will.payload = f.will_payload;
    will.qos = f.will_qos;
    will.retain = f.will_retain;
    will.properties = f.properties.will;
    will.delay_interval = f.properties.will_delay_interval.value_or(0);
    o.will = std::move(will);
  }
  o.transport.tls = f.tls;
  o.transport.local_address = f.bind_address;
  return o;
}

}  // namespace coromqtt::tools
