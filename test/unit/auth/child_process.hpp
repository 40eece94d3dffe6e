// A child process for tests (node scripts): its stdout and stderr captured through pipes, never left behind.
// The destructor kills and reaps it, so a failing REQUIRE that unwinds the test still stops it; on Linux the
// child is also killed if the test process dies.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace coromqtt::test {

class child_process {
 public:
  // Starts `program` (a path) with `arguments`. Throws std::system_error when it cannot be started.
  child_process(const std::string& program, const std::vector<std::string>& arguments);
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  // The next line of stdout (without its '\n'), or nullopt if none comes within `timeout` or stdout ends.
  std::optional<std::string> read_stdout_line(std::chrono::milliseconds timeout);

  struct outcome {
    int exit_status = -1;    // the exit status, or -1 if killed by a signal
    bool timed_out = false;  // it did not end in time and was killed
    std::string out;         // everything on stdout not yet taken by read_stdout_line
    std::string err;         // everything on stderr
  };
  // Waits until the child ends (killing it after `timeout`) and collects its output.
  outcome wait(std::chrono::milliseconds timeout);

  // Sends SIGTERM, then waits as wait() does.
  outcome terminate(std::chrono::milliseconds timeout);

  // The child's process id (to signal it; wait() still reaps it).
  pid_t pid() const noexcept { return pid_; }

  // What the child wrote on stderr so far (reads what is pending without waiting).
  const std::string& stderr_so_far();

 private:
  // Moves what the pipes hold into out_ and err_, waiting at most `timeout` for something to arrive.
  void pump(std::chrono::milliseconds timeout);
  void kill_and_reap() noexcept;

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string out_;
  std::string err_;
  std::optional<int> exit_status_;
};

// Runs a program to its end (killed after `timeout`).
child_process::outcome run_process(const std::string& program, const std::vector<std::string>& arguments,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace coromqtt::test
