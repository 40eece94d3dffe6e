// PLACEHOLDER: the bench command is built by the benchmarks work.
#include "commands.hpp"

#include <cstdio>

namespace coromqtt::tools {

int run_bench(int, char**) {
  std::fputs("coromqtt bench: not available in this build yet\n", stderr);
  return 2;
}

}  // namespace coromqtt::tools
