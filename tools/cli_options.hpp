// The command lines of `coromqtt pub` and `coromqtt sub`: the flags of mosquitto_pub and mosquitto_sub, with
// the same meanings, parsed into plain structs and turned into client_options. No I/O here, so every rule can
// be unit tested (test/tools/cli_options_test.cpp). docs/cli.md is the user's reference; cli_parsing.hpp maps
// the files that implement it.
#pragma once

#include <coromqtt/client.hpp>
#include <coromqtt/endpoint.hpp>
#include <coromqtt/message.hpp>
#include <coromqtt/options.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace coromqtt::tools {

// A mistake on the command line. The tool prints "Error: <what>" and a hint to --help, and exits with
// status 1.
class usage_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class command { pub, sub };

// MQTT 5 properties given with -D, sorted by the packet that carries them.
struct property_flags {
  user_properties connect_user_properties;
  std::optional<std::uint32_t> connect_session_expiry;  // the same as -x
  std::optional<std::uint16_t> connect_receive_maximum;
  std::optional<std::uint32_t> connect_maximum_packet_size;
  std::optional<std::uint16_t> connect_topic_alias_maximum;
  std::optional<bool> connect_request_problem_information;
  message_properties publish;  // pub only
  message_properties will;
  std::optional<std::uint32_t> will_delay_interval;
  subscribe_properties subscribe;  // sub only
  std::optional<std::uint32_t> disconnect_session_expiry;
};

// The flags both commands share: where the broker is, who we are, the session, the will, TLS, -D, -d.
struct common_flags {
  // Where. -L sets url_kind (and may set host, port, credentials and a topic); --unix sets unix_socket.
  std::string host = "localhost";
  std::optional<std::uint16_t> port;
  std::string unix_socket;
  std::optional<transport_kind> url_kind;
  std::string websocket_path = "/";
  bool websocket_path_given = false;        // --ws-path
  std::optional<std::string> bind_address;  // -A
  bool host_given = false;
  bool url_given = false;
  std::string url_topic;  // the topic part of -L, if any
  bool url_has_topic = false;

  // TLS. Any TLS flag (or -p 8883, or an mqtts:// or wss:// URL) selects TLS.
  tls_options tls;
  bool tls_requested = false;

  // Who.
  protocol_version version = protocol_version::v3_1_1;  // mosquitto's default; -V, -D, -x may change it
  std::string client_id;                                // -i
  std::string client_id_prefix;                         // -I
  std::optional<std::string> username;
  std::optional<std::string> password;
  std::uint16_t keep_alive = 60;
  bool disable_clean_session = false;           // -c
  std::optional<std::uint32_t> session_expiry;  // -x
  coromqtt::qos qos = qos::at_most_once;        // -q

  // The will.
  std::optional<std::string> will_topic;
  std::string will_payload;
  coromqtt::qos will_qos = qos::at_most_once;
  bool will_retain = false;

  property_flags properties;

  // Behaviour.
  bool debug = false;  // -d: connection events and a line per packet on stderr
  bool quiet = false;  // --quiet: no runtime error messages
  // --retries: consecutive failed connection attempts tolerated after a failure; nullopt is the command's
  // default (pub: none; sub: none before the first connection, unlimited after it).
  std::optional<unsigned> retries;
  bool retry_forever = false;
};

struct pub_flags {
  common_flags common;
  std::string topic;
  enum class source { none, message, file, null_message, stdin_lines, stdin_whole };
  source payload_source = source::none;
  std::string message;  // -m
  std::string file;     // -f
  bool retain = false;
  std::uint64_t repeat = 1;                 // --repeat: how many times the message is published
  std::chrono::nanoseconds repeat_delay{};  // --repeat-delay
};

struct sub_flags {
  common_flags common;
  std::vector<std::string> topics;                  // -t
  std::vector<std::string> filter_out;              // -T
  std::vector<std::string> unsubscribe;             // -U
  std::optional<std::uint64_t> count;               // -C
  std::optional<std::chrono::nanoseconds> timeout;  // -W
  bool verbose = false;                             // -v
  bool no_end_of_line = false;                      // -N
  bool exit_once_subscribed = false;                // -E
  bool no_retained = false;                         // -R
  bool retained_only = false;                       // --retained-only
  bool remove_retained = false;                     // --remove-retained
  bool retain_as_published = false;                 // --retain-as-published (MQTT 5)
  std::optional<std::string> format;                // -F
};

// What a command line asked for: options to run with, or the help text.
template <class Flags>
struct parsed_command_line {
  Flags flags;
  bool help = false;
};

// Parse the arguments after the command name. Throw usage_error for an unknown flag, a missing or bad value,
// or flags that contradict each other.
parsed_command_line<pub_flags> parse_pub_command_line(std::span<const std::string_view> args);
parsed_command_line<sub_flags> parse_sub_command_line(std::span<const std::string_view> args);

// The broker URL the flags describe, e.g. "mqtt://localhost:1883", "mqtts://[::1]:8883", "ws://h:9001/mqtt",
// "unix:///run/mosquitto.sock".
std::string broker_url(const common_flags& flags);

// The client id to use: -i, or -I with the process id appended, or for MQTT 3.1.1 a random "coromqtt-..." id;
// empty for MQTT 5 without -i/-I (the broker assigns one).
std::string client_id(const common_flags& flags);

// client_options for these flags, without a reconnect policy (the runtime sets one; see cli_runtime.hpp).
client_options make_client_options(const common_flags& flags);

// The usage texts printed by --help.
std::string_view pub_usage() noexcept;
std::string_view sub_usage() noexcept;

}  // namespace coromqtt::tools
