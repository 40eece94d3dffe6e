// Runs one program from the documentation (a ```cpp block with main(), extracted by test/docs/extract.py),
// named by the environment (set by test/docs/meson.build, one meson test per program):
//   COROMQTT_DOC_PROGRAM   the executable
//   COROMQTT_DOC_KIND      "program": against a mosquitto started here, `PROGRAM URL` must exit 0; then against the
//                          same port with the broker stopped it must exit non-zero, before the time limit, and
//                          say something (a failed connect is reported, not swallowed)
//                          "offline": `PROGRAM` alone must exit 0
// Each run of the program gets 60 s.
#include "support/mosquitto.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <sys/wait.h>

using namespace coromqtt::test;

namespace {

constexpr int timed_out = 124;  // timeout(1)'s status when the limit is reached

struct run_result {
  int status = -1;
  std::string output;
};

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

run_result run(const std::string& program, const std::string& argument) {
  std::string command = "timeout 60 '" + program + "'";
  if (!argument.empty()) command += " '" + argument + "'";
  command += " 2>&1 </dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe{popen(command.c_str(), "r"), pclose};
  REQUIRE(pipe);
  run_result result;
  std::array<char, 4096> chunk{};
  while (std::fgets(chunk.data(), chunk.size(), pipe.get())) result.output += chunk.data();
  const int raw = pclose(pipe.release());
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return result;
}

}  // namespace

TEST_CASE("a program of the documentation runs", "[docs]") {
  const std::string program = environment("COROMQTT_DOC_PROGRAM");
  const std::string kind = environment("COROMQTT_DOC_KIND");
  REQUIRE(!program.empty());
  INFO(program);

  if (kind == "offline") {
    const auto r = run(program, "");
    INFO(r.output);
    CHECK(r.status == 0);
    return;
  }
  REQUIRE(kind == "program");
  mosquitto broker;
  const std::string url = broker.url(listener::tcp);
  {
    const auto r = run(program, url);
    INFO("against mosquitto at " << url << ":\n" << r.output);
    CHECK(r.status == 0);
  }
  broker.stop();
  {
    const auto r = run(program, url);
    INFO("with nothing listening at " << url << ":\n" << r.output);
    CHECK(r.status != 0);
    CHECK(r.status != timed_out);  // it hung instead of reporting the failure
    CHECK(!r.output.empty());
  }
}
