// Broker URL parsing: no sockets here.
#include <coromqtt/endpoint.hpp>
#include <coromqtt/error.hpp>

#include <catch2/catch.hpp>

#include <string>

using coromqtt::endpoint;
using coromqtt::transport_kind;

namespace {

struct accepted_url {
  std::string url;
  transport_kind kind;
  std::string host;
  std::uint16_t port;
  std::string path;
  std::string canonical;
};

}  // namespace

TEST_CASE("Broker URLs are parsed into kind, host, port and request target", "[endpoint]") {
  auto row = GENERATE(values<accepted_url>({
      {"mqtt://broker.example:1884", transport_kind::tcp, "broker.example", 1884, "/",
       "mqtt://broker.example:1884"},
      {"mqtt://broker.example", transport_kind::tcp, "broker.example", 1883, "/",
       "mqtt://broker.example:1883"},
      {"mqtt://broker.example/", transport_kind::tcp, "broker.example", 1883, "/",
       "mqtt://broker.example:1883"},
      {"tcp://10.0.0.1:1883", transport_kind::tcp, "10.0.0.1", 1883, "/", "mqtt://10.0.0.1:1883"},
      {"MQTT://Broker.Example", transport_kind::tcp, "Broker.Example", 1883, "/",
       "mqtt://Broker.Example:1883"},
      {"broker.example", transport_kind::tcp, "broker.example", 1883, "/", "mqtt://broker.example:1883"},
      {"localhost:2000", transport_kind::tcp, "localhost", 2000, "/", "mqtt://localhost:2000"},
      {"[::1]:1883", transport_kind::tcp, "::1", 1883, "/", "mqtt://[::1]:1883"},
      {"mqtts://broker.example", transport_kind::tls, "broker.example", 8883, "/",
       "mqtts://broker.example:8883"},
      {"ssl://broker.example:443", transport_kind::tls, "broker.example", 443, "/",
       "mqtts://broker.example:443"},
      {"tls://broker.example", transport_kind::tls, "broker.example", 8883, "/",
       "mqtts://broker.example:8883"},
      {"mqtts://[2001:db8::7]:8884", transport_kind::tls, "2001:db8::7", 8884, "/",
       "mqtts://[2001:db8::7]:8884"},
      {"ws://broker.example", transport_kind::websocket, "broker.example", 80, "/",
       "ws://broker.example:80/"},
      {"ws://broker.example:8080/mqtt", transport_kind::websocket, "broker.example", 8080, "/mqtt",
       "ws://broker.example:8080/mqtt"},
      {"wss://a1b2.iot.example/mqtt?x-amz-signature=ab%2Fcd&token=1", transport_kind::secure_websocket,
       "a1b2.iot.example", 443, "/mqtt?x-amz-signature=ab%2Fcd&token=1",
       "wss://a1b2.iot.example:443/mqtt?x-amz-signature=ab%2Fcd&token=1"},
      {"wss://[::1]:9443/", transport_kind::secure_websocket, "::1", 9443, "/", "wss://[::1]:9443/"},
      {"unix:///run/mosquitto/mosquitto.sock", transport_kind::unix_socket, "/run/mosquitto/mosquitto.sock",
       0, "/", "unix:///run/mosquitto/mosquitto.sock"},
      {"mqtt://my_broker-01.internal~x:65535", transport_kind::tcp, "my_broker-01.internal~x", 65535, "/",
       "mqtt://my_broker-01.internal~x:65535"},
  }));
  CAPTURE(row.url);
  boost::system::error_code ec = coromqtt::error::not_connected;  // must be cleared
  auto parsed = endpoint::parse(row.url, ec);
  REQUIRE(parsed);
  CHECK_FALSE(ec);
  CHECK(parsed->kind == row.kind);
  CHECK(parsed->host == row.host);
  CHECK(parsed->port == row.port);
  CHECK(parsed->path == row.path);
  CHECK(parsed->to_string() == row.canonical);
  // The canonical form parses back to the same endpoint.
  auto reparsed = endpoint::parse(parsed->to_string(), ec);
  REQUIRE(reparsed);
  CHECK(*reparsed == *parsed);
}

TEST_CASE("Malformed or unsupported broker URLs are rejected with invalid_url", "[endpoint]") {
  auto url = GENERATE(as<std::string>{},
                      "",                                   // nothing
                      "mqtt://",                            // no host
                      "mqtt://:1883",                       // no host before the port
                      "http://broker.example",              // unknown scheme
                      "mqtt+ws://broker.example",           // unknown scheme
                      "://broker.example",                  // empty scheme
                      "mqtt://broker.example:",             // empty port
                      "mqtt://broker.example:0",            // port 0
                      "mqtt://broker.example:65536",        // port out of range
                      "mqtt://broker.example:18x3",         // port not a number
                      "mqtt://broker.example:-1",           // negative port
                      "mqtt://user:secret@broker.example",  // credentials do not belong in the URL
                      "mqtt://broker.example/topic",        // a path on a non-WebSocket URL
                      "mqtts://broker.example?x=1",         // a query on a non-WebSocket URL
                      "ws://broker.example/mqtt#part",      // a fragment
                      "ws://broker.example?x=1",            // a query without a path
                      "ws://broker.example/a b",            // a space in the request target
                      "mqtt://bro ker.example",             // a space in the host
                      "mqtt://broker!.example",             // a character DNS names do not have
                      "mqtt://[::1",                        // unclosed bracket
                      "mqtt://[not-v6]:1883",               // brackets around something else
                      "mqtt://[::1]x",                      // junk after the bracket
                      "mqtt://::1:1883",                    // IPv6 without brackets
                      "unix://relative/path.sock",          // unix sockets need an absolute path
                      "unix://",                            // no path at all
                      "unix:///");                          // a directory, not a socket
  CAPTURE(url);
  boost::system::error_code ec;
  auto parsed = endpoint::parse(url, ec);
  CHECK_FALSE(parsed);
  CHECK(ec == coromqtt::error::invalid_url);
}

TEST_CASE("An endpoint built by hand takes the scheme's default port", "[endpoint]") {
  endpoint tls{.kind = transport_kind::tls, .host = "broker.example"};
  CHECK(tls.effective_port() == 8883);
  CHECK(tls.to_string() == "mqtts://broker.example:8883");
  endpoint wss{.kind = transport_kind::secure_websocket, .host = "::1", .path = "/mqtt"};
  CHECK(wss.effective_port() == 443);
  CHECK(wss.to_string() == "wss://[::1]:443/mqtt");
  CHECK(coromqtt::default_port(transport_kind::tcp) == 1883);
  CHECK(coromqtt::default_port(transport_kind::websocket) == 80);
  CHECK(coromqtt::to_string(transport_kind::secure_websocket) == "wss");
}
