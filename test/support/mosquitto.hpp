// A real mosquitto for integration tests: started on free loopback ports with a generated configuration in a
// temporary directory, stopped (and its directory removed) by the destructor, even when the test fails.
//
//   coromqtt::test::mosquitto broker({.listeners = {listener::tcp, listener::tls}});
//   auto where = broker.endpoint(listener::tls);          // mqtts://localhost:PORT
//   transport_options options;
//   options.tls.ca_file = coromqtt::test::certificates().ca;
//   ...
//   broker.kill();       // SIGKILL: connections reset, nothing saved beyond what persistence already wrote
//   broker.restart();    // same ports, same configuration, same persistence directory
//
// When a Catch2 assertion fails while a broker runs, the end of its log is printed with the failure.
#pragma once

#include "support/certs.hpp"

#include <coromqtt/endpoint.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace coromqtt::test {

enum class listener {
  tcp,               // mqtt://127.0.0.1:PORT
  tls,               // mqtts://localhost:PORT, server certificate only
  mutual_tls,        // mqtts://localhost:PORT, a client certificate signed by certificates().ca required
  websocket,         // ws://127.0.0.1:PORT/mqtt
  secure_websocket,  // wss://localhost:PORT/mqtt
  unix_socket,       // unix://<broker directory>/mosquitto.sock
};

struct user {
  std::string name = {};
  std::string password = {};
};

struct mosquitto_options {
  // mosquitto 2.0.11 will not start with websockets listeners only: a tcp listener is then added.
  std::vector<listener> listeners = {listener::tcp};
  bool allow_anonymous = true;
  std::vector<user> users = {};  // a password file with these (made by mosquitto_passwd)
  // Keeps sessions and queued messages in the broker's directory, written after every change (on the next
  // pass of mosquitto's main loop), so that kill() then restart() loses nothing that was saved. A kill right
  // after an acknowledgement may come before the save: see wait_for_database_save().
  bool persistence = false;
  // The TLS listeners' certificate; empty = certificates().server (valid for localhost and 127.0.0.1).
  std::optional<certificate_files> server_certificate = {};
  // The TLS listeners' minimum version, as mosquitto's tls_version: "tlsv1.3"; empty = mosquitto's (TLS 1.2).
  std::string tls_version = {};
  // The newest TLS version the broker offers, "TLSv1.2" (mosquitto has no option for it: it is set through an
  // OpenSSL configuration file in OPENSSL_CONF); empty = OpenSSL's (TLS 1.3).
  std::string tls_maximum_version = {};
  std::optional<int> max_inflight_messages = {};
  std::optional<int> max_queued_messages = {};
  // Appended to the configuration as they are: max_packet_size, max_keepalive, message_size_limit...
  std::vector<std::string> extra_config = {};
  std::chrono::milliseconds start_timeout{10'000};  // for every listener to accept connections
};

class mosquitto {
 public:
  // Starts the broker and returns once every listener accepts connections; throws std::runtime_error with the
  // broker's log when it does not start.
  explicit mosquitto(mosquitto_options options = {});
  // Stops the broker (SIGTERM, SIGKILL if it has not exited within 5 s) and removes its directory.
  ~mosquitto();
  mosquitto(const mosquitto&) = delete;
  mosquitto& operator=(const mosquitto&) = delete;

  std::uint16_t port(listener which) const;  // throws std::out_of_range if the broker has no such listener
  coromqtt::endpoint endpoint(listener which) const;
  std::string url(listener which) const { return endpoint(which).to_string(); }

  void kill();     // SIGKILL, and wait for it: the crash of a broker
  void stop();     // SIGTERM, and wait for it: a clean shutdown (persistence saved)
  void restart();  // stops if running (SIGKILL), then starts again on the same ports with the same state
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }  // -1 when not running

  std::string log() const;  // all the broker has logged, across restarts
  // Waits until the log holds `text` after position `after` (a log().size() taken earlier): the broker logs
  // what it did a moment after doing it. False after `limit`.
  bool wait_for_log(std::string_view text, std::chrono::milliseconds limit = std::chrono::seconds(5),
                    std::size_t after = 0) const;
  std::string log_tail(std::size_t lines) const;

  // Persistence: mosquitto logs "Saving in-memory database" before it writes, then replaces its database file
  // by a rename. To kill the broker only after a change is on disk, take database_version() before the change
  // and wait_for_database_save() with it after.
  std::uint64_t database_version() const;  // the database file's inode and mtime; 0 when there is none yet
  bool wait_for_database_save(std::uint64_t previous_version,
                              std::chrono::milliseconds limit = std::chrono::seconds(5)) const;
  const std::filesystem::path& directory() const { return directory_; }

 private:
  void write_configuration() const;
  void write_openssl_configuration() const;
  void write_password_file() const;
  void launch();
  std::string log_of_last_start() const;
  void wait_until_ready();
  void terminate(int signal_number);

  mosquitto_options options_;
  std::filesystem::path directory_ = {};
  std::map<listener, std::uint16_t> ports_ = {};
  pid_t pid_ = -1;
};

}  // namespace coromqtt::test
