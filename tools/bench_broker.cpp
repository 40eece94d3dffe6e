#include "bench_broker.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

namespace coromqtt::tools {
namespace {

using namespace std::chrono_literals;

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A port the kernel just handed out for an ephemeral bind: free now, and unlikely to be taken in the next
// few milliseconds (a clash makes mosquitto exit, and start() tries another port).
std::uint16_t free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  auto address = loopback(0);
  socklen_t length = sizeof address;
  std::uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

bool accepts_connections(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  auto address = loopback(port);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

// The configuration of a broker that measures the client: no inflight or queue limits, no connection limit,
// Nagle off (as the clients have it), nothing written to disk.
std::string configuration(std::uint16_t port, const std::string& directory) {
  std::ostringstream c;
  // Started by root, mosquitto would switch to the user "mosquitto"; a change of user clears the request to
  // die with the parent (PR_SET_PDEATHSIG). Stay whoever started the tool.
  if (const passwd* user = ::getpwuid(::geteuid())) c << "user " << user->pw_name << "\n";
  c << "listener " << port << " 127.0.0.1\n"
    << "max_connections -1\n"
    << "allow_anonymous true\n"
    << "set_tcp_nodelay true\n"
    << "max_inflight_messages 0\n"
    << "max_queued_messages 0\n"
    << "max_keepalive 65535\n"
    << "persistence false\n"
    << "log_dest file " << directory << "/mosquitto.log\n"
    << "log_type error\n"
    << "log_type warning\n";
  return c.str();
}

std::string tail_of(const std::string& path, std::size_t bytes = 2000) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text.size() > bytes ? text.substr(text.size() - bytes) : text;
}

std::string version_of(const std::string& executable) {
  // "mosquitto version 2.0.11" is the first line of its help, which it prints with exit status 3.
  const std::string command = "'" + executable + "' -h 2>&1";
  std::string line;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[256];
    if (std::fgets(buffer, sizeof buffer, p)) line = buffer;
    ::pclose(p);
  }
  const auto at = line.find("version ");
  if (at == std::string::npos) return "unknown";
  auto version = line.substr(at + 8);
  while (!version.empty() && (version.back() == '\n' || version.back() == '\r')) version.pop_back();
  return version;
}

pid_t spawn(const std::string& executable, const std::string& config_path, const std::string& log_path) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  // In the child: die with the parent, whatever kills it; stay out of the terminal's process group so that
  // Ctrl-C reaches the tool, which then stops the broker after the clients.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(1);
  ::setpgid(0, 0);
  const int null_fd = ::open("/dev/null", O_RDONLY);
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
  if (log_fd >= 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
  }
  ::execl(executable.c_str(), "mosquitto", "-c", config_path.c_str(), static_cast<char*>(nullptr));
  ::_exit(127);
}

}  // namespace

std::optional<local_broker> local_broker::start(const std::string& executable, std::string& error) {
  if (::access(executable.c_str(), X_OK) != 0) {
    error = executable + " is not an executable (install mosquitto, or name a broker with -L)";
    return std::nullopt;
  }
  char pattern[] = "/tmp/coromqtt-bench-XXXXXX";
  if (!::mkdtemp(pattern)) {
    error = "cannot create a temporary directory";
    return std::nullopt;
  }
  local_broker broker;
  broker.directory_ = pattern;
  broker.version_ = version_of(executable);
  const std::string config_path = broker.directory_ + "/mosquitto.conf";
  const std::string log_path = broker.directory_ + "/mosquitto.log";

  for (int attempt = 0; attempt < 5; ++attempt) {
    broker.port_ = free_loopback_port();
    if (broker.port_ == 0) continue;
    std::ofstream(config_path) << configuration(broker.port_, broker.directory_);
    broker.pid_ = spawn(executable, config_path, log_path);
    if (broker.pid_ < 0) {
      error = "fork failed";
      return std::nullopt;
    }
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(broker.pid_, &status, WNOHANG) == broker.pid_) {
        broker.pid_ = -1;  // exited: most likely the port was taken meanwhile; try another
        break;
      }
      if (accepts_connections(broker.port_)) return broker;
      std::this_thread::sleep_for(10ms);
    }
    if (broker.pid_ > 0) break;  // running but not listening within 10 s: give up
  }
  error = "mosquitto did not start; its log:\n" + tail_of(log_path);
  return std::nullopt;  // the destructor stops what is left and removes the directory
}

local_broker::local_broker(local_broker&& other) noexcept
    : pid_{std::exchange(other.pid_, -1)},
      port_{other.port_},
      directory_{std::exchange(other.directory_, {})},
      version_{std::move(other.version_)} {}

local_broker::~local_broker() { stop(); }

void local_broker::stop() noexcept {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool exited = false;
    for (int i = 0; i < 300 && !exited; ++i) {
      exited = ::waitpid(pid_, &status, WNOHANG) == pid_;
      if (!exited) std::this_thread::sleep_for(10ms);
    }
    if (!exited) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }
  if (!directory_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
    directory_.clear();
  }
}

std::uint64_t raise_open_file_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? 1'048'576 : limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

}  // namespace coromqtt::tools
