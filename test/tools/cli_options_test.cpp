// The command lines of coromqtt pub and sub: mosquitto's flags, their meanings, and the mistakes they reject.
#include "cli_options.hpp"

#include <catch2/catch.hpp>

#include <initializer_list>
#include <type_traits>
#include <string_view>
#include <vector>

#include <unistd.h>

using namespace coromqtt;
using namespace coromqtt::tools;

namespace {

parsed_command_line<pub_flags> pub(std::initializer_list<std::string_view> args) {
  const std::vector<std::string_view> v(args);
  return parse_pub_command_line(v);
}

parsed_command_line<sub_flags> sub(std::initializer_list<std::string_view> args) {
  const std::vector<std::string_view> v(args);
  return parse_sub_command_line(v);
}

// The usage error a command line gives, or "" when it parses.
template <class Parse>
std::string error_of(Parse parse, std::initializer_list<std::string_view> args) {
  try {
    parse(args);
  } catch (const usage_error& e) {
    return e.what();
  }
  return {};
}

std::string pub_error(std::initializer_list<std::string_view> args) { return error_of(pub, args); }

// What a credential provider gave: the credentials themselves, or (as the finished credentials API has it) a
// boost::system::result holding them.
template <class Provided>
credentials provided(const Provided& p) {
  if constexpr (std::is_same_v<Provided, credentials>)
    return p;
  else
    return p.value();
}
std::string sub_error(std::initializer_list<std::string_view> args) { return error_of(sub, args); }

}  // namespace

TEST_CASE("pub: the common flags keep mosquitto_pub's meanings") {
  const auto parsed = pub({"-h", "broker.local", "-p", "1884", "-t", "a/b", "-m", "hello", "-q", "2", "-r",
                           "-i", "me", "-k", "30", "-u", "user", "-P", "secret"});
  REQUIRE_FALSE(parsed.help);
  const auto& f = parsed.flags;
  CHECK(f.topic == "a/b");
  CHECK(f.payload_source == pub_flags::source::message);
  CHECK(f.message == "hello");
  CHECK(f.common.qos == qos::exactly_once);
  CHECK(f.retain);

  const auto o = make_client_options(f.common);
  CHECK(o.brokers == std::vector<std::string>{"mqtt://broker.local:1884"});
  CHECK(o.client_id == "me");
  CHECK(o.keep_alive == std::chrono::seconds{30});
  CHECK(o.version == protocol_version::v3_1_1);  // mosquitto's default
  CHECK(o.clean_start);
  REQUIRE(o.credentials);
  const credential_request request;
  const credentials c = provided(o.credentials(request));
  CHECK(c.username == "user");
  CHECK(c.password == "secret");
}

TEST_CASE("pub: exactly one message source") {
  CHECK(pub({"-t", "t", "-n"}).flags.payload_source == pub_flags::source::null_message);
  CHECK(pub({"-t", "t", "-l"}).flags.payload_source == pub_flags::source::stdin_lines);
  CHECK(pub({"-t", "t", "-s"}).flags.payload_source == pub_flags::source::stdin_whole);
  CHECK(pub({"-t", "t", "-f", "x.bin"}).flags.file == "x.bin");
  CHECK_THAT(pub_error({"-t", "t", "-m", "a", "-n"}), Catch::Contains("only one of"));
  CHECK_THAT(pub_error({"-t", "t"}), Catch::Contains("no message"));
  CHECK_THAT(pub_error({"-m", "x"}), Catch::Contains("no topic"));
}

TEST_CASE("pub: --repeat and --repeat-delay, fractions of seconds allowed") {
  const auto f = pub({"-t", "t", "-m", "x", "--repeat", "3", "--repeat-delay", "0.25"}).flags;
  CHECK(f.repeat == 3);
  CHECK(f.repeat_delay == std::chrono::milliseconds{250});
  CHECK_THAT(pub_error({"-t", "t", "-l", "--repeat", "2"}),
             Catch::Contains("--repeat cannot be used with -l"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "--repeat", "0"}), Catch::Contains("--repeat"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "--repeat-delay", "-1"}), Catch::Contains("seconds"));
}

TEST_CASE("bad values and unknown flags are usage errors naming the flag") {
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "--bogus"}), Catch::Contains("unknown option '--bogus'"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "extra"}), Catch::Contains("unexpected argument 'extra'"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "-q", "3"}), Catch::Contains("-q"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "-p", "0"}), Catch::Contains("-p"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "-p", "65536"}), Catch::Contains("65535"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "-p", "12ab"}), Catch::Contains("-p"));
  CHECK_THAT(pub_error({"-t", "t", "-m"}), Catch::Contains("-m needs"));
  CHECK_THAT(pub_error({"-t", "a/#", "-m", "x"}), Catch::Contains("not a valid topic name"));
  CHECK_THAT(sub_error({"-t", "a/#/b"}), Catch::Contains("not a valid topic filter"));
  CHECK_THAT(pub_error({"-t", "t", "-m", "x", "--psk", "00"}), Catch::Contains("not supported"));
  CHECK_THAT(sub_error({"-t", "t", "-C", "0"}), Catch::Contains("-C"));
  CHECK_THAT(sub_error({"-t", "t", "-W", "0"}), Catch::Contains("greater than 0"));
}

TEST_CASE("--help is recognised wherever it appears") {
  CHECK(pub({"-t", "t", "--help"}).help);
  CHECK(sub({"--help"}).help);
  CHECK(pub_usage().find("--repeat-delay") != std::string_view::npos);
  CHECK(sub_usage().find("--retained-only") != std::string_view::npos);
}

TEST_CASE("-V: 5 and 311 in both spellings; 3.1 refused clearly") {
  CHECK(pub({"-t", "t", "-n", "-V", "5"}).flags.common.version == protocol_version::v5);
  CHECK(pub({"-t", "t", "-n", "-V", "mqttv5"}).flags.common.version == protocol_version::v5);
  CHECK(pub({"-t", "t", "-n", "-V", "311"}).flags.common.version == protocol_version::v3_1_1);
  CHECK(pub({"-t", "t", "-n", "-V", "mqttv311"}).flags.common.version == protocol_version::v3_1_1);
  CHECK_THAT(pub_error({"-t", "t", "-n", "-V", "31"}), Catch::Contains("MQTT 3.1 is not supported"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "-V", "mqttv31"}), Catch::Contains("MQTT 3.1 is not supported"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "-V", "6"}), Catch::Contains("unknown protocol version"));
}

TEST_CASE("-D and -x imply MQTT 5, and contradict an explicit -V 311") {
  CHECK(pub({"-t", "t", "-n", "-D", "publish", "content-type", "text/plain"}).flags.common.version ==
        protocol_version::v5);
  CHECK(sub({"-t", "t", "-x", "60"}).flags.common.version == protocol_version::v5);
  CHECK_THAT(pub_error({"-V", "311", "-t", "t", "-n", "-D", "publish", "content-type", "x"}),
             Catch::Contains("needs MQTT 5"));
}

TEST_CASE("-D publish: every message property the client exposes") {
  const auto f = pub({"-t",
                      "t",
                      "-n",
                      "-D",
                      "PUBLISH",
                      "payload-format-indicator",
                      "1",
                      "-D",
                      "publish",
                      "message-expiry-interval",
                      "120",
                      "-D",
                      "publish",
                      "content-type",
                      "text/plain",
                      "-D",
                      "publish",
                      "response-topic",
                      "replies/here",
                      "-D",
                      "publish",
                      "correlation-data",
                      "id-7",
                      "-D",
                      "publish",
                      "user-property",
                      "k1",
                      "v1",
                      "-D",
                      "publish",
                      "user-property",
                      "k1",
                      "v2"})
                     .flags;
  const auto& p = f.common.properties.publish;
  CHECK(p.payload_format_indicator == 1);
  CHECK(p.message_expiry_interval == 120u);
  CHECK(p.content_type == "text/plain");
  CHECK(p.response_topic == "replies/here");
  CHECK(p.correlation_data == "id-7");
  CHECK(p.user_properties == user_properties{{"k1", "v1"}, {"k1", "v2"}});
}

TEST_CASE("-D connect, will, subscribe and disconnect properties") {
  const auto p = pub({"-t",
                      "t",
                      "-n",
                      "-i",
                      "id",
                      "-D",
                      "connect",
                      "user-property",
                      "a",
                      "b",
                      "-D",
                      "connect",
                      "session-expiry-interval",
                      "60",
                      "-D",
                      "connect",
                      "receive-maximum",
                      "10",
                      "-D",
                      "connect",
                      "maximum-packet-size",
                      "1000",
                      "-D",
                      "connect",
                      "topic-alias-maximum",
                      "5",
                      "-D",
                      "connect",
                      "request-problem-information",
                      "0",
                      "--will-topic",
                      "w",
                      "-D",
                      "will",
                      "will-delay-interval",
                      "7",
                      "-D",
                      "will",
                      "content-type",
                      "x",
                      "-D",
                      "disconnect",
                      "session-expiry-interval",
                      "0"})
                     .flags;
  const auto o = make_client_options(p.common);
  CHECK(o.connect_user_properties == user_properties{{"a", "b"}});
  CHECK(o.session_expiry_interval == 60u);
  CHECK(o.receive_maximum == 10);
  CHECK(o.maximum_packet_size == 1000u);
  CHECK(o.topic_alias_maximum == 5);
  CHECK_FALSE(o.request_problem_information);
  REQUIRE(o.will);
  CHECK(o.will->delay_interval == 7u);
  CHECK(o.will->properties.content_type == "x");
  CHECK(p.common.properties.disconnect_session_expiry == 0u);

  const auto s = sub({"-t", "t", "-D", "subscribe", "subscription-identifier", "5", "-D", "subscribe",
                      "user-property", "k", "v"})
                     .flags;
  CHECK(s.common.properties.subscribe.subscription_identifier == 5u);
  CHECK(s.common.properties.subscribe.user_properties == user_properties{{"k", "v"}});
}

TEST_CASE("-D rejects what coromqtt cannot send, saying what it can") {
  CHECK_THAT(pub_error({"-t", "t", "-n", "-D", "publish", "topic-alias", "3"}),
             Catch::Contains("not a publish property coromqtt can send"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "-D", "connect", "authentication-method", "x"}),
             Catch::Contains("it can: user-property"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "-D", "subscribe", "user-property", "k", "v"}),
             Catch::Contains("it can in: connect, publish, will, disconnect"));
  CHECK_THAT(sub_error({"-t", "t", "-D", "publish", "content-type", "x"}), Catch::Contains("cannot send"));
  CHECK_THAT(sub_error({"-t", "t", "-D", "unsubscribe", "user-property", "k", "v"}),
             Catch::Contains("cannot send"));
  CHECK_THAT(sub_error({"-t", "t", "-D", "subscribe", "subscription-identifier", "0"}),
             Catch::Contains("subscription-identifier"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "-D", "publish", "user-property", "only-key"}),
             Catch::Contains("needs"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "-D", "publish", "payload-format-indicator", "2"}),
             Catch::Contains("0 to 1"));
}

TEST_CASE("-c needs -i; a persistent session never expires by default in MQTT 5") {
  CHECK_THAT(sub_error({"-t", "t", "-c"}), Catch::Contains("-c needs a client id"));
  CHECK_THAT(sub_error({"-t", "t", "-c", "-I", "pre"}), Catch::Contains("-c needs a client id"));
  CHECK_THAT(sub_error({"-t", "t", "-x", "-1"}), Catch::Contains("needs a client id"));

  const auto v3 = make_client_options(sub({"-t", "t", "-c", "-i", "me"}).flags.common);
  CHECK_FALSE(v3.clean_start);
  const auto v5 = make_client_options(sub({"-t", "t", "-c", "-i", "me", "-V", "5"}).flags.common);
  CHECK_FALSE(v5.clean_start);
  CHECK(v5.session_expiry_interval == 0xFFFFFFFFu);
  const auto bounded = make_client_options(sub({"-t", "t", "-c", "-i", "me", "-x", "30"}).flags.common);
  CHECK(bounded.session_expiry_interval == 30u);
}

TEST_CASE("client ids: -i, -I with the process id, generated for 3.1.1, broker-assigned for 5") {
  CHECK(client_id(sub({"-t", "t", "-i", "fixed"}).flags.common) == "fixed");
  CHECK(client_id(sub({"-t", "t", "-I", "pre-"}).flags.common) == "pre-" + std::to_string(::getpid()));
  const auto generated = client_id(sub({"-t", "t"}).flags.common);
  CHECK(generated.starts_with("coromqtt-"));
  CHECK(generated.size() == 23);  // the length every 3.1.1 broker must accept [MQTT-3.1.3-5]
  CHECK(generated != client_id(sub({"-t", "t"}).flags.common));
  CHECK(client_id(sub({"-t", "t", "-V", "5"}).flags.common).empty());
  CHECK_THAT(sub_error({"-t", "t", "-i", "a", "-I", "b"}), Catch::Contains("-i and -I"));
}

TEST_CASE("-P without -u is refused in MQTT 3.1.1 only") {
  CHECK_THAT(pub_error({"-t", "t", "-n", "-P", "pw"}), Catch::Contains("-P needs -u"));
  CHECK(pub({"-t", "t", "-n", "-P", "pw", "-V", "5"}).flags.common.password == "pw");
}

TEST_CASE("-L: mqtt and mqtts URLs carry credentials, host, port and topic") {
  const auto f = pub({"-L", "mqtt://us%40er:p%3Ass@example.org:1999/a/b/c", "-m", "x"}).flags;
  CHECK(f.topic == "a/b/c");
  CHECK(f.common.username == "us@er");
  CHECK(f.common.password == "p:ss");
  CHECK(broker_url(f.common) == "mqtt://example.org:1999");

  CHECK(broker_url(pub({"-L", "mqtts://example.org/t", "-n"}).flags.common) == "mqtts://example.org:8883");
  CHECK(broker_url(pub({"-L", "mqtt://[::1]:1884/t", "-n"}).flags.common) == "mqtt://[::1]:1884");

  const auto s = sub({"-L", "mqtt://h/sensors/+/temp", "-t", "other/#"}).flags;
  CHECK(s.topics == std::vector<std::string>{"other/#", "sensors/+/temp"});

  CHECK_THAT(pub_error({"-L", "http://h/t", "-n"}), Catch::Contains("unsupported scheme"));
  CHECK_THAT(pub_error({"-L", "mqtt:///t", "-n"}), Catch::Contains("no host"));
  CHECK_THAT(pub_error({"-L", "mqtt://h/t", "-t", "u", "-n"}), Catch::Contains("topic is given twice"));
  CHECK_THAT(pub_error({"-L", "mqtt://h/t", "-h", "other", "-n"}), Catch::Contains("-L and -h"));
  CHECK_THAT(pub_error({"-L", "mqtt://u:p%4@h/t", "-n"}), Catch::Contains("escape"));
}

TEST_CASE("-L: ws and wss take the first path segment as the WebSocket path, unless --ws-path names it") {
  const auto f = pub({"-L", "ws://h:9001/mqtt/a/b", "-n"}).flags;
  CHECK(broker_url(f.common) == "ws://h:9001/mqtt");
  CHECK(f.topic == "a/b");

  const auto with_path = pub({"--ws-path", "/x/y", "-L", "wss://h/a/b", "-n"}).flags;
  CHECK(broker_url(with_path.common) == "wss://h:443/x/y");
  CHECK(with_path.topic == "a/b");

  const auto no_topic = pub({"-L", "ws://h:9001/mqtt", "-t", "t", "-n"}).flags;
  CHECK(broker_url(no_topic.common) == "ws://h:9001/mqtt");
  CHECK(no_topic.topic == "t");

  CHECK_THAT(pub_error({"--ws-path", "/p", "-t", "t", "-n"}), Catch::Contains("--ws-path needs a ws://"));
}

TEST_CASE("TLS: any TLS flag, port 8883 or an mqtts URL selects TLS; flags map to tls_options") {
  const auto f =
      pub({"-t", "t", "-n", "--cafile", "ca.pem", "--cert", "c.pem", "--key", "k.pem", "--pass", "pw",
           "--tls-version", "tlsv1.3", "--tls-alpn", "mqtt", "--alpn", "x-amzn-mqtt-ca", "--insecure"})
          .flags;
  CHECK(broker_url(f.common) == "mqtts://localhost:8883");
  const auto o = make_client_options(f.common);
  CHECK(o.transport.tls.ca_file == "ca.pem");
  CHECK(o.transport.tls.cert_file == "c.pem");
  CHECK(o.transport.tls.key_file == "k.pem");
  CHECK(o.transport.tls.key_password == "pw");
  CHECK(o.transport.tls.minimum_version == tls_options::version::tls1_3);
  CHECK(o.transport.tls.alpn_protocols == std::vector<std::string>{"mqtt", "x-amzn-mqtt-ca"});
  CHECK(o.transport.tls.insecure_skip_verify);

  CHECK(broker_url(pub({"-t", "t", "-n", "-p", "8883"}).flags.common) == "mqtts://localhost:8883");
  CHECK(broker_url(pub({"-t", "t", "-n", "--tls-use-os-certs", "-p", "1"}).flags.common) ==
        "mqtts://localhost:1");
  CHECK(broker_url(pub({"-t", "t", "-n", "--capath", "/etc/ssl/certs", "-L", "ws://h/mqtt"}).flags.common) ==
        "wss://h:443/mqtt");
  CHECK_THAT(pub_error({"-t", "t", "-n", "--cert", "c.pem"}), Catch::Contains("--cert and --key"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "--tls-version", "tlsv1.1"}), Catch::Contains("not supported"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "--keyform", "engine"}), Catch::Contains("pem"));
}

TEST_CASE("a host that makes no usable URL is a usage error") {
  CHECK_THAT(pub_error({"-h", "a/b", "-t", "t", "-n"}), Catch::Contains("'mqtt://a/b:1883' is not usable"));
  CHECK_THAT(pub_error({"-h", "a b", "-t", "t", "-n"}), Catch::Contains("is not usable"));
  CHECK(broker_url(pub({"-h", "::1", "-t", "t", "-n"}).flags.common) == "mqtt://[::1]:1883");
}

TEST_CASE("--unix replaces -h, -p and -L") {
  CHECK(broker_url(pub({"-t", "t", "-n", "--unix", "/run/m.sock"}).flags.common) == "unix:///run/m.sock");
  CHECK(broker_url(pub({"-t", "t", "-n", "--unix", "rel.sock"}).flags.common).starts_with("unix:///"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "--unix", "/s", "-p", "1883"}), Catch::Contains("--unix replaces"));
  CHECK_THAT(pub_error({"-t", "t", "-n", "--unix", "/s", "--cafile", "x"}), Catch::Contains("TLS"));
}

TEST_CASE("the will: --will-topic is required by the other will flags") {
  const auto o = make_client_options(pub({"-t", "t", "-n", "--will-topic", "w/t", "--will-payload", "bye",
                                          "--will-qos", "1", "--will-retain"})
                                         .flags.common);
  REQUIRE(o.will);
  CHECK(o.will->topic == "w/t");
  CHECK(o.will->payload == "bye");
  CHECK(o.will->qos == qos::at_least_once);
  CHECK(o.will->retain);
  CHECK_THAT(pub_error({"-t", "t", "-n", "--will-payload", "x"}), Catch::Contains("need --will-topic"));
}

TEST_CASE("sub: its own flags") {
  const auto f =
      sub({"-t",  "a/#", "-t", "b",  "-T", "a/skip/#",          "-U", "b",     "-C",        "3",  "-W",
           "1.5", "-v",  "-N", "-E", "-R", "--remove-retained", "-F", "%t %p", "--nodelay", "-q", "1"})
          .flags;
  CHECK(f.topics == std::vector<std::string>{"a/#", "b"});
  CHECK(f.filter_out == std::vector<std::string>{"a/skip/#"});
  CHECK(f.unsubscribe == std::vector<std::string>{"b"});
  CHECK(f.count == 3u);
  CHECK(f.timeout == std::chrono::milliseconds{1500});
  CHECK(f.verbose);
  CHECK(f.no_end_of_line);
  CHECK(f.exit_once_subscribed);
  CHECK(f.no_retained);
  CHECK(f.remove_retained);
  CHECK(f.format == "%t %p");
  CHECK(f.common.qos == qos::at_least_once);

  CHECK(sub({"-U", "only/unsubscribe"}).flags.topics.empty());
  CHECK_THAT(sub_error({"-v"}), Catch::Contains("no topic"));
  CHECK_THAT(sub_error({"-t", "t", "-R", "--retained-only"}), Catch::Contains("contradict"));
  CHECK_THAT(sub_error({"-t", "t", "-F", "%m"}), Catch::Contains("%m"));
  CHECK_THAT(sub_error({"-t", "t", "--retain-as-published", "-V", "311"}), Catch::Contains("needs MQTT 5"));
}

TEST_CASE("--retries: a count or forever") {
  CHECK(sub({"-t", "t", "--retries", "3"}).flags.common.retries == 3u);
  CHECK(sub({"-t", "t", "--retries", "forever"}).flags.common.retry_forever);
  CHECK_THAT(sub_error({"-t", "t", "--retries", "lots"}), Catch::Contains("--retries"));
}
