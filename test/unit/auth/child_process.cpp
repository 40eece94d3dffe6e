#include "child_process.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

namespace coromqtt::test {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) {
    ::close(fd);
    fd = -1;
  }
}

}  // namespace

child_process::child_process(const std::string& program, const std::vector<std::string>& arguments) {
  // Everything the child needs is prepared before fork(): after it, in a multithreaded parent, only
  // async-signal-safe calls are allowed.
  std::vector<std::string> argv_storage;
  argv_storage.push_back(program);
  argv_storage.insert(argv_storage.end(), arguments.begin(), arguments.end());
  std::vector<char*> argv;
  for (auto& argument : argv_storage) {
    argv.push_back(argument.data());
  }
  argv.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    throw_errno("pipe2");
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw_errno("pipe2");
  }
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) {
      ::close(fd);
    }
    throw_errno("fork");
  }
  if (pid_ == 0) {
#ifdef __linux__
    // Dies with the test process, even when that one crashes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);
    }
#endif
    (void)parent;
    ::dup2(out_pipe[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    ::dup2(err_pipe[1], STDERR_FILENO);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDIN_FILENO);
    }
    ::execv(program.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  stdout_fd_ = out_pipe[0];
  stderr_fd_ = err_pipe[0];
}

child_process::~child_process() {
  kill_and_reap();
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
}

void child_process::pump(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{stdout_fd_, POLLIN, 0}, {stderr_fd_, POLLIN, 0}};
  if (stdout_fd_ < 0 && stderr_fd_ < 0) {
    return;
  }
  const int ready = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (ready <= 0) {
    return;
  }
  const auto drain = [](pollfd& entry, int& fd, std::string& into) {
    if (fd < 0 || (entry.revents & (POLLIN | POLLHUP | POLLERR)) == 0) {
      return;
    }
    char buffer[4096];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      close_fd(fd);  // end of output (or a broken pipe): stop polling it
    }
  };
  drain(fds[0], stdout_fd_, out_);
  drain(fds[1], stderr_fd_, err_);
}

std::optional<std::string> child_process::read_stdout_line(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto end_of_line = out_.find('\n');
    if (end_of_line != std::string::npos) {
      std::string line = out_.substr(0, end_of_line);
      out_.erase(0, end_of_line + 1);
      return line;
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero() || stdout_fd_ < 0) {
      return std::nullopt;
    }
    pump(left);
  }
}

const std::string& child_process::stderr_so_far() {
  while (stderr_fd_ >= 0) {
    const std::size_t before = err_.size() + out_.size();
    const int was_stdout = stdout_fd_;
    const int was_stderr = stderr_fd_;
    pump(std::chrono::milliseconds(0));
    if (err_.size() + out_.size() == before && was_stdout == stdout_fd_ && was_stderr == stderr_fd_) {
      break;  // nothing more pending right now
    }
  }
  return err_;
}

child_process::outcome child_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  outcome result;
  while (stdout_fd_ >= 0 || stderr_fd_ >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) {
      result.timed_out = true;
      break;
    }
    pump(left);
  }
  // The pipes close when the child exits (unless it handed them to a grandchild): reap it, or kill it.
  while (!exit_status_ && !result.timed_out) {
    int status = 0;
    const pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      break;
    }
    ::usleep(10'000);
  }
  if (!exit_status_) {
    kill_and_reap();
  }
  result.exit_status = exit_status_.value_or(-1);
  result.out = std::move(out_);
  result.err = std::move(err_);
  out_.clear();
  err_.clear();
  return result;
}

child_process::outcome child_process::terminate(std::chrono::milliseconds timeout) {
  if (!exit_status_ && pid_ > 0) {
    ::kill(pid_, SIGTERM);
  }
  return wait(timeout);
}

void child_process::kill_and_reap() noexcept {
  if (pid_ <= 0 || exit_status_) {
    return;
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

child_process::outcome run_process(const std::string& program, const std::vector<std::string>& arguments,
                                   std::chrono::milliseconds timeout) {
  child_process child(program, arguments);
  return child.wait(timeout);
}

}  // namespace coromqtt::test
