// Every example program runs against a real mosquitto and does what its comment promises.
#include "support/mosquitto.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

using namespace coromqtt::test;

namespace {

struct run_result {
  int status = -1;
  std::string output;
};

// Runs the example (path from the environment, set by meson) with the broker URL; bounded by `timeout`.
run_result run_example(const char* variable, const std::string& url) {
  const char* path = std::getenv(variable);
  REQUIRE(path != nullptr);
  const std::string command = "timeout 60 '" + std::string(path) + "' '" + url + "' 2>&1";
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

TEST_CASE("example: publish_subscribe", "[integration][examples]") {
  mosquitto broker;
  const auto r = run_example("COROMQTT_EXAMPLE_PUBLISH_SUBSCRIBE", broker.url(listener::tcp));
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("coromqtt/example/qos0: hello (QoS 0)") != std::string::npos);
  CHECK(r.output.find("coromqtt/example/qos1: hello (QoS 1)") != std::string::npos);
  CHECK(r.output.find("coromqtt/example/qos2: hello (QoS 2)") != std::string::npos);
}

TEST_CASE("example: callbacks", "[integration][examples]") {
  mosquitto broker;
  const auto r = run_example("COROMQTT_EXAMPLE_CALLBACKS", broker.url(listener::tcp));
  INFO(r.output);
  CHECK(r.status == 0);
  for (int i = 0; i < 5; ++i) CHECK(r.output.find("received reading " + std::to_string(i)) != std::string::npos);
  CHECK(r.output.find("done") != std::string::npos);
}

TEST_CASE("example: multithreaded", "[integration][examples]") {
  mosquitto broker;
  const auto r = run_example("COROMQTT_EXAMPLE_MULTITHREADED", broker.url(listener::tcp));
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("published 400, received 400") != std::string::npos);
}

TEST_CASE("an example reports a broker it cannot reach", "[integration][examples]") {
  // A port nobody listens on: the example fails with a message and a non-zero status, and does not hang.
  mosquitto broker;
  const auto port = broker.port(listener::tcp);
  broker.stop();
  const auto r = run_example("COROMQTT_EXAMPLE_PUBLISH_SUBSCRIBE", "mqtt://127.0.0.1:" + std::to_string(port));
  INFO(r.output);
  CHECK(r.status == 1);
  CHECK(r.output.find("error:") != std::string::npos);
}
