// coromqtt sub's output: payload only, -v, and -F format strings.
#include "cli_format.hpp"
#include "cli_options.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>

using namespace coromqtt;
using namespace coromqtt::tools;

namespace {

// Times below are rendered in UTC, whatever the machine's zone.
struct utc_zone {
  utc_zone() {
    ::setenv("TZ", "UTC", 1);
    ::tzset();
  }
};
const utc_zone force_utc;

// 2016-08-10T09:47:38.123456789Z
const auto sample_time =
    std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds{1470822458} + std::chrono::nanoseconds{123456789})};

message sample() {
  message m;
  m.topic = "sensors/kitchen";
  m.payload = std::string{"21.5\0\xff", 6};
  m.qos = qos::at_least_once;
  m.retain = true;
  return m;
}

std::string render(std::string_view format, const message& m = sample()) {
  std::string out;
  message_format::parse(format).render(m, sample_time, out);
  return out;
}

std::string format_error(std::string_view format) {
  try {
    message_format::parse(format);
  } catch (const usage_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST_CASE("the default prints the payload's raw bytes; -v prefixes the topic") {
  std::string out;
  message_format::payload_only().render(sample(), sample_time, out);
  CHECK(out == std::string{"21.5\0\xff", 6});
  out.clear();
  message_format::topic_and_payload().render(sample(), sample_time, out);
  CHECK(out == std::string{"sensors/kitchen 21.5\0\xff", 22});

  // As mosquitto_sub -v prints an empty payload; %p prints nothing.
  auto empty = sample();
  empty.payload.clear();
  out.clear();
  message_format::topic_and_payload().render(empty, sample_time, out);
  CHECK(out == "sensors/kitchen (null)");
  CHECK(render("[%p]", empty) == "[]");
}

TEST_CASE("-F: message fields") {
  CHECK(render("%t|%q|%r|%l") == "sensors/kitchen|1|1|6");
  CHECK(render("%x") == "32312e3500ff");
  CHECK(render("%X") == "32312E3500FF");
  CHECK(render("100%%") == "100%");
  CHECK(render("[%p]") == std::string{"[21.5\0\xff]", 8});
}

TEST_CASE("-F: MQTT 5 properties print when present, and nothing when absent") {
  auto m = sample();
  CHECK(render("%C|%D|%E|%F|%P|%R|%S", m) == "||||||");
  m.properties.content_type = "text/plain";
  m.properties.correlation_data = "c-1";
  m.properties.message_expiry_interval = 60;
  m.properties.payload_format_indicator = 1;
  m.properties.user_properties = {{"k1", "v1"}, {"k2", "v2"}};
  m.properties.response_topic = "replies";
  m.properties.subscription_identifiers = {5, 9};
  CHECK(render("%C|%D|%E|%F|%P|%R|%S", m) == "text/plain|c-1|60|1|k1:v1 k2:v2|replies|5,9");
}

TEST_CASE("-F: escapes") {
  CHECK(render("a\\tb\\nc\\\\d") == "a\tb\nc\\d");
  CHECK(render("\\0\\a\\e\\r\\v") == std::string{"\0\a\x1b\r\v", 5});
}

TEST_CASE("-F: width, left alignment, zero padding and maximum width") {
  CHECK(render("%20t|") == "     sensors/kitchen|");
  CHECK(render("%-20t|") == "sensors/kitchen     |");
  CHECK(render("%5.3t|") == "  sen|");
  CHECK(render("%05l") == "00006");
  CHECK(render("%05q") == "    1");                       // %q takes no zero padding
  CHECK(render("%.3p") == std::string{"21.5\0\xff", 6});  // nor a maximum width
}

TEST_CASE("-F: times") {
  CHECK(render("%I") == "2016-08-10T09:47:38+0000");
  CHECK(render("%U") == "1470822458.123456789");
  CHECK(render("@Y-@m-@d @H:@M:@S.@N @@") == "2016-08-10 09:47:38.123456789 @");
  CHECK(message_format::parse("%I").uses_time());
  CHECK_FALSE(message_format::parse("%t %p").uses_time());
}

TEST_CASE("-F: %j prints one JSON object, with the properties and an escaped payload") {
  auto m = sample();
  m.payload = "he said \"hi\"\n\x01\xff\xc3\xa9";
  CHECK(
      render("%j", m) ==
      R"({"tst":"2016-08-10T09:47:38.123456+0000","topic":"sensors/kitchen",)"
      R"("qos":1,"retain":1,"payloadlen":17,)"
      R"("payload":"he said \"hi\"\n\u0001\u00ff)"
      "\xc3\xa9\"}");
  m.payload = "x";
  m.properties.content_type = "text/plain";
  m.properties.user_properties = {{"a", "1"}, {"a", "2"}};
  CHECK(
      render("%j", m) ==
      R"({"tst":"2016-08-10T09:47:38.123456+0000","topic":"sensors/kitchen",)"
      R"("qos":1,"retain":1,"payloadlen":1,)"
      R"("properties":{"content-type":"text/plain","user-properties":[{"a":"1"},{"a":"2"}]},"payload":"x"})");
}

TEST_CASE("-F: what cannot be honoured is refused with a reason") {
  CHECK_THAT(format_error("%m"), Catch::Contains("message id"));
  CHECK_THAT(format_error("%A"), Catch::Contains("topic alias"));
  CHECK_THAT(format_error("%J"), Catch::Contains("%j"));
  CHECK_THAT(format_error("%Z"), Catch::Contains("unknown sequence '%Z'"));
  CHECK_THAT(format_error("abc%"), Catch::Contains("ends inside"));
  CHECK_THAT(format_error("abc\\"), Catch::Contains("lone"));
  CHECK_THAT(format_error("abc@"), Catch::Contains("lone"));
  CHECK_THAT(format_error("\\q"), Catch::Contains("unknown escape"));
  CHECK_THAT(format_error("%99999t"), Catch::Contains("width"));
}
