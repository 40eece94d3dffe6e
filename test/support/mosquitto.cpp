#include "support/mosquitto.hpp"

#include <coromqtt/config.hpp>

// For Catch::TestEventListenerBase: the listener below prints a broker's log when an assertion fails.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <fstream>
#include <iostream>
#include <mutex>
#include <netinet/in.h>
#include <set>
#include <signal.h>
#include <sstream>
#include <stdexcept>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#ifndef COROMQTT_TEST_MOSQUITTO
#define COROMQTT_TEST_MOSQUITTO "/usr/sbin/mosquitto"
#endif
#ifndef COROMQTT_TEST_MOSQUITTO_PASSWD
#define COROMQTT_TEST_MOSQUITTO_PASSWD "mosquitto_passwd"
#endif

namespace coromqtt::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string program_path(const char* environment_variable, const char* built_in) {
  const char* configured = std::getenv(environment_variable);
  return configured != nullptr && *configured != '\0' ? configured : built_in;
}

// --- Brokers alive, whose logs a failing assertion prints
// ----------------------------------------------------

std::mutex live_brokers_mutex;
std::set<const mosquitto*> live_brokers;
std::set<const mosquitto*> logs_printed;  // once per broker and test case

void print_log_tail(const mosquitto& broker, const char* why) {
  std::cerr << "\n----- " << why << ": the end of mosquitto's log ("
            << (broker.directory() / "mosquitto.log").string() << ") -----\n"
            << broker.log_tail(60) << "----- end of mosquitto's log -----\n";
}

class print_broker_logs_on_failure : public Catch::TestEventListenerBase {
 public:
  using TestEventListenerBase::TestEventListenerBase;

  void testCaseStarting(const Catch::TestCaseInfo& info) override {
    TestEventListenerBase::testCaseStarting(info);
    std::lock_guard lock(live_brokers_mutex);
    logs_printed.clear();
  }

  bool assertionEnded(const Catch::AssertionStats& stats) override {
    if (!stats.assertionResult.isOk()) {
      std::lock_guard lock(live_brokers_mutex);
      for (const mosquitto* broker : live_brokers) {
        if (logs_printed.insert(broker).second) print_log_tail(*broker, "assertion failed");
      }
    }
    return TestEventListenerBase::assertionEnded(stats);
  }
};

CATCH_REGISTER_LISTENER(print_broker_logs_on_failure)

// --- Processes
// -----------------------------------------------------------------------------------------------

// Starts `arguments` with stdout and stderr appended to `log_path`, and `extra_environment` ("NAME=value")
// added to ours. The child dies with the test process (PR_SET_PDEATHSIG), so not even a crashing test leaves
// a broker behind.
pid_t spawn(const std::vector<std::string>& arguments, const fs::path& log_path,
            const std::vector<std::string>& extra_environment = {}) {
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) throw std::runtime_error("cannot open " + log_path.string() + ": " + std::strerror(errno));
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> environment;
  for (char** variable = environ; *variable != nullptr; ++variable) environment.push_back(*variable);
  for (const auto& variable : extra_environment) environment.push_back(const_cast<char*>(variable.c_str()));
  environment.push_back(nullptr);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls from here to exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    ::execvpe(argv[0], argv.data(), environment.data());
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(log);
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(fork_errno));
  return pid;
}

// Waits up to `limit` for `pid` to exit; true if it did (and is reaped).
bool wait_for_exit(pid_t pid, std::chrono::milliseconds limit, int* status = nullptr) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int exit_status = 0;
    pid_t result = ::waitpid(pid, &exit_status, WNOHANG);
    if (result == pid || (result < 0 && errno == ECHILD)) {
      if (status != nullptr) *status = exit_status;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

void run_to_completion(const std::vector<std::string>& arguments, const fs::path& log_path) {
  int status = 0;
  pid_t pid = spawn(arguments, log_path);
  if (!wait_for_exit(pid, 10s, &status)) {
    ::kill(pid, SIGKILL);
    wait_for_exit(pid, 10s);
    throw std::runtime_error(arguments[0] + " did not finish");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(arguments[0] + " failed");
}

// --- Ports
// ---------------------------------------------------------------------------------------------------

// A port the kernel just handed out on 127.0.0.1, free again once we close it. Another process may take it
// before mosquitto binds it; the start is then retried with new ports.
std::uint16_t free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  bool ok = fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error(std::string("no free loopback port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

bool accepts_tcp(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

bool accepts_unix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  if (fd >= 0) ::close(fd);
  return ok;
}

std::string read_file(const fs::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

bool is_tls(listener which) {
  return which == listener::tls || which == listener::mutual_tls || which == listener::secure_websocket;
}

// The broker logs this once every listener is open.
constexpr std::string_view running_marker = " running";
constexpr std::string_view address_in_use_marker = "Address already in use";
constexpr std::string_view start_marker = "----- coromqtt test fixture: starting mosquitto";

}  // namespace

mosquitto::mosquitto(mosquitto_options options) : options_(std::move(options)) {
  bool only_websockets = std::ranges::all_of(options_.listeners, [](listener which) {
    return which == listener::websocket || which == listener::secure_websocket;
  });
  // mosquitto 2.0.11 counts only its own (non-websockets) sockets when it checks that a listener started.
  if (only_websockets) options_.listeners.push_back(listener::tcp);
  std::string pattern = (fs::temp_directory_path() / "coromqtt-mosquitto-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  try {
    write_password_file();
    write_openssl_configuration();
    // Free ports can be taken by someone else before mosquitto binds them: then try again with new ones.
    for (int attempt = 1;; ++attempt) {
      ports_.clear();
      for (listener which : options_.listeners) {
        if (which != listener::unix_socket) ports_[which] = free_loopback_port();
      }
      write_configuration();
      launch();
      try {
        wait_until_ready();
        break;
      } catch (const std::runtime_error&) {
        bool port_taken = log_of_last_start().find(address_in_use_marker) != std::string::npos;
        terminate(SIGKILL);
        if (!port_taken || attempt == 5) throw;
      }
    }
  } catch (...) {
    terminate(SIGKILL);
    std::error_code ignored;
    fs::remove_all(directory_, ignored);
    throw;
  }
  std::lock_guard lock(live_brokers_mutex);
  live_brokers.insert(this);
}

mosquitto::~mosquitto() {
  {
    std::lock_guard lock(live_brokers_mutex);
    live_brokers.erase(this);
    // An exception is unwinding the test (a failed REQUIRE, an unexpected error): the log may say why.
    if (std::uncaught_exceptions() > 0 && logs_printed.insert(this).second) {
      print_log_tail(*this, "test ended by an exception");
    }
    logs_printed.erase(this);
  }
  stop();
  std::error_code ignored;
  fs::remove_all(directory_, ignored);
}

std::uint16_t mosquitto::port(listener which) const {
  return ports_.at(which);
}

coromqtt::endpoint mosquitto::endpoint(listener which) const {
  // Names for the TLS listeners, so that SNI and host name verification see a name; addresses for the others.
  switch (which) {
    case listener::tcp:
      return {.kind = transport_kind::tcp, .host = "127.0.0.1", .port = port(which)};
    case listener::tls:
    case listener::mutual_tls:
      return {.kind = transport_kind::tls, .host = "localhost", .port = port(which)};
    case listener::websocket:
      return {.kind = transport_kind::websocket, .host = "127.0.0.1", .port = port(which), .path = "/mqtt"};
    case listener::secure_websocket:
      return {.kind = transport_kind::secure_websocket,
              .host = "localhost",
              .port = port(which),
              .path = "/mqtt"};
    case listener::unix_socket:
      if (std::ranges::find(options_.listeners, listener::unix_socket) == options_.listeners.end()) {
        throw std::out_of_range("the broker has no unix socket listener");
      }
      return {.kind = transport_kind::unix_socket, .host = (directory_ / "mosquitto.sock").string()};
  }
  throw std::out_of_range("unknown listener");
}

void mosquitto::write_password_file() const {
  bool first = true;
  for (const auto& [name, password] : options_.users) {
    std::vector<std::string> arguments{
        program_path("COROMQTT_MOSQUITTO_PASSWD", COROMQTT_TEST_MOSQUITTO_PASSWD), "-b"};
    if (first) arguments.push_back("-c");  // create the file
    arguments.insert(arguments.end(), {(directory_ / "passwords").string(), name, password});
    run_to_completion(arguments, directory_ / "mosquitto_passwd.log");
    first = false;
  }
}

void mosquitto::write_configuration() const {
  std::ofstream config(directory_ / "mosquitto.conf");
  config << "# Written by coromqtt's test fixture (test/support/mosquitto.cpp)\n"
            "log_dest stderr\n"
            "log_type all\n"
            "log_timestamp_format %H:%M:%S\n"
            "connection_messages true\n"
            // The broker must not hold back small packets any more than the client does.
            "set_tcp_nodelay true\n";
  // Started as root, mosquitto would switch to the "mosquitto" user, who can neither read our certificates
  // and keys nor write in our directory.
  if (::geteuid() == 0) config << "user root\n";
  config << "allow_anonymous " << (options_.allow_anonymous ? "true" : "false") << "\n";
  if (!options_.users.empty()) config << "password_file " << (directory_ / "passwords").string() << "\n";
  if (options_.persistence) {
    // Saved after every change (not only at exit), so that a SIGKILL loses nothing already accepted.
    config << "persistence true\n"
           << "persistence_location " << directory_.string() << "/\n"
           << "autosave_on_changes true\n"
           << "autosave_interval 1\n";
  }
  if (options_.max_inflight_messages)
    config << "max_inflight_messages " << *options_.max_inflight_messages << "\n";
  if (options_.max_queued_messages) config << "max_queued_messages " << *options_.max_queued_messages << "\n";

  for (listener which : options_.listeners) {
    if (which == listener::unix_socket) {
      config << "\nlistener 0 " << (directory_ / "mosquitto.sock").string() << "\n";
      continue;
    }
    // Websockets listeners too are given 127.0.0.1: mosquitto 2.0.11 accepts an address there (not an
    // interface name or "localhost", with which libwebsockets fails to listen), though libwebsockets then
    // listens on every interface, IPv4 and IPv6.
    config << "\nlistener " << ports_.at(which) << " 127.0.0.1\n";
    if (which == listener::websocket || which == listener::secure_websocket)
      config << "protocol websockets\n";
    if (is_tls(which)) {
#if COROMQTT_HAS_TLS
      const certificate_files& server =
          options_.server_certificate ? *options_.server_certificate : certificates().server;
      config << "cafile " << certificates().ca << "\n"
             << "certfile " << server.certificate << "\n"
             << "keyfile " << server.key << "\n";
      if (!options_.tls_version.empty()) config << "tls_version " << options_.tls_version << "\n";
      if (which == listener::mutual_tls) config << "require_certificate true\n";
#else
      throw std::runtime_error("TLS listeners need a build with TLS");
#endif
    }
  }
  if (!options_.extra_config.empty()) config << "\n";
  for (const auto& line : options_.extra_config) config << line << "\n";
}

void mosquitto::write_openssl_configuration() const {
  if (options_.tls_maximum_version.empty()) return;
  // OpenSSL applies system_default to every SSL_CTX of the process.
  std::ofstream(directory_ / "openssl.cnf") << "openssl_conf = default_conf\n"
                                               "[default_conf]\n"
                                               "ssl_conf = ssl_section\n"
                                               "[ssl_section]\n"
                                               "system_default = system_default_section\n"
                                               "[system_default_section]\n"
                                               "MaxProtocol = "
                                            << options_.tls_maximum_version << "\n";
}

void mosquitto::launch() {
  std::ofstream(directory_ / "mosquitto.log", std::ios::app) << start_marker << "\n";
  std::vector<std::string> environment;
  if (!options_.tls_maximum_version.empty())
    environment.push_back("OPENSSL_CONF=" + (directory_ / "openssl.cnf").string());
  pid_ = spawn({program_path("COROMQTT_MOSQUITTO", COROMQTT_TEST_MOSQUITTO), "-c",
                (directory_ / "mosquitto.conf").string()},
               directory_ / "mosquitto.log", environment);
}

void mosquitto::wait_until_ready() {
  auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error("mosquitto did not start: " + why + "\n----- its log:\n" + log_tail(40));
  };
  for (;;) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      fail("it exited with status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1));
    }
    // "running" comes once every listener is open; then each must accept a connection.
    bool ready = log_of_last_start().find(running_marker) != std::string::npos;
    for (listener which : options_.listeners) {
      if (!ready) break;
      ready = which == listener::unix_socket ? accepts_unix(endpoint(which).host) : accepts_tcp(port(which));
    }
    if (ready) return;
    if (std::chrono::steady_clock::now() >= deadline) fail("its listeners were not ready in time");
    std::this_thread::sleep_for(10ms);
  }
}

void mosquitto::terminate(int signal_number) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal_number);
  if (!wait_for_exit(pid_, 5s)) {
    ::kill(pid_, SIGKILL);
    wait_for_exit(pid_, 5s);
  }
  pid_ = -1;
}

void mosquitto::kill() {
  terminate(SIGKILL);
}

void mosquitto::stop() {
  terminate(SIGTERM);
}

void mosquitto::restart() {
  terminate(SIGKILL);
  // The same ports: clients reconnect where they were. Right after a kill a port can still be held for a
  // moment.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  for (;;) {
    launch();
    try {
      wait_until_ready();
      return;
    } catch (const std::runtime_error&) {
      bool port_taken = log_of_last_start().find(address_in_use_marker) != std::string::npos;
      terminate(SIGKILL);
      if (!port_taken || std::chrono::steady_clock::now() >= deadline) throw;
      std::this_thread::sleep_for(100ms);
    }
  }
}

std::string mosquitto::log() const {
  return read_file(directory_ / "mosquitto.log");
}

bool mosquitto::wait_for_log(std::string_view text, std::chrono::milliseconds limit,
                             std::size_t after) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (log().find(text, after) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::uint64_t mosquitto::database_version() const {
  // The inode alone is not enough: the one the rename frees may be given to the next save's file at once.
  // Its modification time (in nanoseconds) changes with every save.
  struct stat status {};
  if (::stat((directory_ / "mosquitto.db").c_str(), &status) != 0) return 0;
  const auto modified = static_cast<std::uint64_t>(status.st_mtim.tv_sec) * 1'000'000'000u +
                        static_cast<std::uint64_t>(status.st_mtim.tv_nsec);
  return (static_cast<std::uint64_t>(status.st_ino) * 0x9E3779B97F4A7C15u) ^ modified ^ 1u;
}

bool mosquitto::wait_for_database_save(std::uint64_t previous_version,
                                       std::chrono::milliseconds limit) const {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (database_version() == previous_version) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

std::string mosquitto::log_of_last_start() const {
  std::string text = log();
  auto start = text.rfind(start_marker);
  return start == std::string::npos ? text : text.substr(start);
}

std::string mosquitto::log_tail(std::size_t lines) const {
  std::string text = log();
  std::size_t start = text.size();
  for (std::size_t seen = 0; start > 0 && seen <= lines; --start) {
    if (text[start - 1] == '\n') ++seen;
  }
  return text.substr(start == 0 ? 0 : start + 1);
}

}  // namespace coromqtt::test
