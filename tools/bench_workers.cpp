// The parent's side of coromqtt bench --processes (see bench_workers.hpp): fork the workers, relay the
// barrier, signals and progress, collect and merge their figures. Plain poll(): the parent runs no client of
// its own.
#include "bench_record.hpp"
#include "bench_workers.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <poll.h>
#include <signal.h>
#include <string>
#include <string_view>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace coromqtt::tools {

namespace {

struct worker_process {
  pid_t pid = -1;
  int socket = -1;  // -1 once the worker closed its end
  std::size_t first_index = 0;
  std::size_t clients = 0;
  std::string input;  // received, not yet a whole line
  bool ready = false, ready_ok = false, reported = false, in_summary = false;
  std::size_t connected = 0;
  progress_counts progress;
  std::uint64_t progress_lines = 0;  // one a second while it measures
  std::string record;
  bench_summary figures;
  bool record_valid = false;
};

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

void send_all(std::vector<worker_process>& workers, char command) {
  for (auto& w : workers) {
    if (w.socket >= 0) (void)!::write(w.socket, &command, 1);  // a worker that is gone is noticed by its EOF
  }
}

template <class... Numbers>
bool read_numbers(std::string_view text, Numbers&... out) {
  bool ok = true;
  const auto one = [&](auto& value) {
    const auto start = text.find_first_not_of(' ');
    if (start == std::string_view::npos) {
      ok = false;
      return;
    }
    text.remove_prefix(start);
    const auto [stop, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    ok = ok && ec == std::errc{};
    text.remove_prefix(static_cast<std::size_t>(stop - text.data()));
  };
  (one(out), ...);
  return ok;
}

// One line from a worker.
void handle_line(worker_process& w, std::string_view line) {
  if (w.in_summary) {
    if (line == "end") {
      w.in_summary = false;
      w.reported = true;
      w.record_valid = from_record(w.record, w.figures);
    } else {
      w.record.append(line).push_back('\n');
    }
  } else if (line.starts_with("ready ")) {
    int ok = 0;
    w.ready = read_numbers(line.substr(6), ok, w.connected);
    w.ready_ok = w.ready && ok == 1;
  } else if (line.starts_with("progress ")) {
    auto& p = w.progress;
    if (read_numbers(line.substr(9), p.completed, p.in_flight, p.connected, p.errors, p.reconnects))
      ++w.progress_lines;
  } else if (line == "summary") {
    w.in_summary = true;
  }
}

// Reads what a worker sent; false when it closed its end.
bool receive(worker_process& w) {
  char buffer[65536];
  const auto n = ::read(w.socket, buffer, sizeof buffer);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  w.input.append(buffer, static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (auto end = w.input.find('\n'); end != std::string::npos; end = w.input.find('\n', start)) {
    handle_line(w, std::string_view{w.input}.substr(start, end - start));
    start = end + 1;
  }
  w.input.erase(0, start);
  return true;
}

// Forks the workers, each running its share of the clients. Throws std::system_error when it cannot.
std::vector<worker_process> start_workers(const bench_options& options, const std::vector<std::string>& urls,
                                          int signals) {
  std::vector<worker_process> workers(options.processes);
  std::size_t next = 0;
  for (std::size_t k = 0; k < workers.size(); ++k) {
    auto& w = workers[k];
    w.first_index = next;
    w.clients = options.clients / options.processes + (k < options.clients % options.processes ? 1 : 0);
    next += w.clients;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
      throw std::system_error(errno, std::generic_category(), "socketpair");
    std::fflush(nullptr);  // nothing buffered may be written twice
    const pid_t parent = ::getpid();
    w.pid = ::fork();
    if (w.pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (w.pid == 0) {
      // The worker: killed if the parent dies; SIGINT and SIGTERM are the parent's to pass on.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) std::_Exit(1);
      ::signal(SIGINT, SIG_IGN);
      ::signal(SIGTERM, SIG_IGN);
      sigset_t blocked;
      sigemptyset(&blocked);
      sigaddset(&blocked, SIGINT);
      sigaddset(&blocked, SIGTERM);
      ::sigprocmask(SIG_UNBLOCK, &blocked, nullptr);
      ::close(signals);
      for (std::size_t j = 0; j < k; ++j) ::close(workers[j].socket);  // the other workers' links
      ::close(pair[0]);
      bench_options share = options;
      share.clients = w.clients;
      share.processes = 1;
      share.ready_file.clear();  // the parent's, once every worker is ready
      // _Exit: no destructor of the parent's objects (the broker it started) runs in the child.
      std::_Exit(run_worker(share, urls, w.first_index, pair[1]));
    }
    ::close(pair[1]);
    w.socket = pair[0];
  }
  return workers;
}

}  // namespace

int run_workers(const bench_options& options, const std::vector<std::string>& urls, bench_summary& summary) {
  // Signals arrive through a descriptor polled with the workers' sockets; blocked before forking, so that a
  // worker cannot be interrupted before it ignores them.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGTERM);
  sigset_t previous;
  ::sigprocmask(SIG_BLOCK, &handled, &previous);
  const int signals = ::signalfd(-1, &handled, SFD_CLOEXEC);

  std::vector<worker_process> workers;
  try {
    workers = start_workers(options, urls, signals);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "coromqtt bench: cannot start the workers: %s\n", e.what());
    send_all(workers, 'k');
    for (auto& w : workers) {
      if (w.pid > 0) ::waitpid(w.pid, nullptr, 0);
    }
    ::close(signals);
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    return 1;
  }

  int interrupts = 0;
  bool decided = false;
  std::uint64_t progress_printed = 0;  // lines, one a second
  std::uint64_t last_completed = 0;
  for (;;) {
    std::vector<pollfd> polled;
    std::vector<worker_process*> owners;
    for (auto& w : workers) {
      if (w.socket < 0) continue;
      polled.push_back({w.socket, POLLIN, 0});
      owners.push_back(&w);
    }
    if (polled.empty()) break;
    polled.push_back({signals, POLLIN, 0});
    if (::poll(polled.data(), polled.size(), -1) < 0 && errno != EINTR) break;

    for (std::size_t i = 0; i < owners.size(); ++i) {
      if (polled[i].revents == 0) continue;
      if (!receive(*owners[i])) {
        ::close(owners[i]->socket);
        owners[i]->socket = -1;
      }
    }
    if (polled.back().revents & POLLIN) {
      signalfd_siginfo info{};
      if (::read(signals, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        ++interrupts;
        if (interrupts == 1) std::fputs("\ncoromqtt bench: interrupted, finishing\n", stderr);
        send_all(workers, interrupts == 1 ? 'i' : 'k');
      }
    }

    // The barrier: once every worker is ready, or gone, they all start measuring (or all give up).
    if (!decided) {
      bool all = true, all_ok = true;
      std::size_t connected = 0;
      for (const auto& w : workers) {
        all = all && (w.ready || w.socket < 0);
        all_ok = all_ok && w.ready_ok;
        connected += w.connected;
      }
      if (all) {
        decided = true;
        if (all_ok && options.mode == bench_mode::sub) {
          if (!options.ready_file.empty()) std::ofstream{options.ready_file} << "subscribed\n";
          if (!options.quiet)
            std::fprintf(stderr, "coromqtt bench: %zu subscribed to %s, waiting for messages\n", connected,
                         urls.front().c_str());
        }
        send_all(workers, all_ok ? 'g' : 'a');
      }
    }

    // The command's progress line, once every worker still measuring has sent its line for that second.
    bool all_reported = decided;
    std::size_t measuring = 0;
    for (const auto& w : workers) {
      if (w.socket < 0 || w.in_summary || w.reported) continue;
      ++measuring;
      all_reported = all_reported && w.progress_lines > progress_printed;
    }
    if (!options.quiet && all_reported && measuring > 0) {
      ++progress_printed;
      progress_counts total;
      for (const auto& w : workers) {
        total.completed += w.progress.completed;
        total.in_flight += w.progress.in_flight;
        total.connected += w.progress.connected;
        total.errors += w.progress.errors;
        total.reconnects += w.progress.reconnects;
      }
      total.clients = options.clients;
      total.per_second = total.completed - std::min(total.completed, last_completed);
      last_completed = total.completed;
      print_progress(stderr, options.mode, static_cast<long long>(progress_printed), total);
    }
  }

  // Every worker closed its socket: collect their exit statuses and figures.
  std::vector<bench_summary> parts;
  bool all_completed = true;
  for (auto& w : workers) {
    int status = 0;
    while (::waitpid(w.pid, &status, 0) < 0 && errno == EINTR) {
    }
    bench_summary::worker entry;
    entry.pid = static_cast<long>(w.pid);
    entry.clients = w.clients;
    entry.exit = describe_exit(status);
    if (!w.record_valid) entry.exit += w.reported ? ", unreadable report" : ", no report";
    all_completed = all_completed && entry.exit == "0";
    summary.workers.push_back(entry);
    if (w.record_valid) parts.push_back(std::move(w.figures));
  }
  ::close(signals);
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);

  merge_into(summary, parts);
  if (interrupts >= 2) return 130;
  return all_completed && summary.errors == 0 && interrupts == 0 ? 0 : 1;
}

}  // namespace coromqtt::tools
