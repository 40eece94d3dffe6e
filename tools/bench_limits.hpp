// What one machine allows a benchmark: file descriptors per process (RLIMIT_NOFILE) and local ports per
// source address. Checked before anything starts, so that a run that cannot fit says so instead of failing
// halfway.
#pragma once

#include "bench_options.hpp"

#include <string>
#include <vector>

namespace coromqtt::tools {

struct limit_check {
  std::string error;                  // non-empty: the run cannot fit; the command stops with this message
  std::vector<std::string> warnings;  // the run may not fit; it goes on
};

// Raises the soft RLIMIT_NOFILE to the hard limit (worker processes and a broker started for the run inherit
// it), then checks the plan: every process needs a descriptor per client it runs plus a few of its own; a
// broker started for the run needs one per client. `starts_broker`: the tool starts mosquitto itself.
limit_check check_limits(const bench_options& options, bool starts_broker);

// Descriptors a process needs beyond its connections: standard streams, the event loop's, /proc/self/statm,
// the link to its parent, and some slack for resolvers and certificate files.
inline constexpr std::size_t reserved_descriptors = 64;

}  // namespace coromqtt::tools
