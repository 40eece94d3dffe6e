// The --help texts of `coromqtt pub` and `coromqtt sub` (docs/cli.md is the full reference).
#include "cli_options.hpp"

namespace coromqtt::tools {

std::string_view pub_usage() noexcept {
  return R"(coromqtt pub: publish MQTT messages (the options of mosquitto_pub)

usage: coromqtt pub {-t topic | -L URL} {-m message | -f file | -n | -l | -s} [options]

Message:
  -t, --topic TOPIC         topic to publish to
  -m, --message TEXT        the message
  -f, --file FILE           the whole file as one message
  -n, --null-message        a zero-length message
  -l, --stdin-line          each line of standard input as a message
  -s, --stdin-file          all of standard input as one message
  -q, --qos 0|1|2           quality of service (default 0)
  -r, --retain              retain the message
  --repeat N                publish the message N times (not with -l)
  --repeat-delay SECONDS    wait this long after each delivery before the next (fractions allowed)
)"
         R"(
Broker and session (shared with coromqtt sub):
  -h, --host HOST           broker host (default localhost)
  -p, --port PORT           broker port (default 1883, or 8883 with TLS)
  -L, --url URL             mqtt(s)://[user[:password]@]host[:port]/topic or ws(s)://host[:port]/path/topic
  --ws-path PATH            WebSocket path for a ws(s):// URL; all of the URL's path is then the topic
  --unix PATH               connect to a Unix domain socket instead
  -A ADDRESS                local address to bind to
  -V, --protocol-version V  5, 311, mqttv5 or mqttv311 (default 311; -D and -x imply 5)
  -i, --id ID               client id        -I, --id-prefix PREFIX   client id = PREFIX + process id
  -k, --keepalive SECONDS   keep alive (default 60; 0 = off)
  -u, --username USER       user name        -P, --pw PASSWORD        password
  -c                        persistent session (needs -i)
  -x SECONDS                MQTT 5 session expiry interval (-1 = never)
  -D COMMAND NAME VALUE     MQTT 5 property: connect, publish, will or disconnect (see docs/cli.md)
  --will-topic TOPIC  --will-payload TEXT  --will-qos Q  --will-retain
  --retries N|forever       reconnect attempts after a failure (default 0)
  -d, --debug               print connection events and packets on stderr
  --quiet                   print no runtime errors
)"
         R"(
TLS:
  --cafile FILE  --capath DIR  --cert FILE  --key FILE  --pass KEY-PASSWORD  --tls-use-os-certs
  --tls-version tlsv1.2|tlsv1.3 (minimum)  --tls-alpn PROTOCOL  --insecure (no certificate verification)

Exit status: 0 when every message was published (QoS 1 and 2: acknowledged); 1 for a usage error or any
failure; the CONNACK reason code when the broker refused the connection.
)";
}

std::string_view sub_usage() noexcept {
  return R"(coromqtt sub: subscribe and print MQTT messages (the options of mosquitto_sub)

usage: coromqtt sub {-t filter... | -L URL | -U filter...} [options]

Subscribing:
  -t, --topic FILTER        topic filter to subscribe to (repeatable)
  -T, --filter-out FILTER   do not print messages whose topic matches (repeatable)
  -U, --unsubscribe FILTER  unsubscribe from this filter after subscribing (repeatable)
  -q, --qos 0|1|2           maximum QoS of the subscriptions (default 0)
  -C COUNT                  exit after COUNT messages were printed
  -W SECONDS                exit with status 27 if still running this long after connecting
  -E                        exit once subscribed
  -R                        do not print retained (stale) messages
  --retained-only           print only retained messages; exit at the first other one
  --remove-retained         clear each retained message received (publishes an empty retained message)
  --retain-as-published     MQTT 5 subscription option
)"
         R"(
Output:
  -v, --verbose             print "topic payload"
  -N                        no end of line after each message
  -F FORMAT                 %t topic, %p payload, %q QoS, %r retain, %l length, %x/%X hex payload,
                            %I ISO-8601 time, %U Unix time, %j JSON, %C %D %E %F %P %R %S MQTT 5
                            properties, @X strftime, \n \t \\ ... (see docs/cli.md)
)"
         R"(
Broker and session (shared with coromqtt pub):
  -h, --host HOST           broker host (default localhost)
  -p, --port PORT           broker port (default 1883, or 8883 with TLS)
  -L, --url URL             mqtt(s)://[user[:password]@]host[:port]/filter or ws(s)://host[:port]/path/filter
  --ws-path PATH            WebSocket path for a ws(s):// URL; all of the URL's path is then the filter
  --unix PATH               connect to a Unix domain socket instead
  -A ADDRESS                local address to bind to
  -V, --protocol-version V  5, 311, mqttv5 or mqttv311 (default 311; -D and -x imply 5)
  -i, --id ID               client id        -I, --id-prefix PREFIX   client id = PREFIX + process id
  -k, --keepalive SECONDS   keep alive (default 60; 0 = off)
  -u, --username USER       user name        -P, --pw PASSWORD        password
  -c                        persistent session (needs -i)
  -x SECONDS                MQTT 5 session expiry interval (-1 = never)
  -D COMMAND NAME VALUE     MQTT 5 property: connect, subscribe, will or disconnect (see docs/cli.md)
  --will-topic TOPIC  --will-payload TEXT  --will-qos Q  --will-retain
  --retries N|forever       reconnect attempts after a failure (default: none before the first connection,
                            forever after it)
  -d, --debug               print connection events and packets on stderr
  --quiet                   print no runtime errors
)"
         R"(
TLS:
  --cafile FILE  --capath DIR  --cert FILE  --key FILE  --pass KEY-PASSWORD  --tls-use-os-certs
  --tls-version tlsv1.2|tlsv1.3 (minimum)  --tls-alpn PROTOCOL  --insecure (no certificate verification)

Exit status: 0 on success (and on SIGINT or SIGTERM); 27 when -W expired; 1 for a usage error or any
failure; the CONNACK reason code when the broker refused the connection.
)";
}

}  // namespace coromqtt::tools
