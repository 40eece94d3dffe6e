// PLACEHOLDER: the pub command is built by the command-line tool work.
#include "commands.hpp"

#include <cstdio>

namespace coromqtt::tools {

int run_pub(int, char**) {
  std::fputs("coromqtt pub: not available in this build yet\n", stderr);
  return 2;
}

}  // namespace coromqtt::tools
