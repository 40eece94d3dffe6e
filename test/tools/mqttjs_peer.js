// A peer for cli_test.py: MQTT.js, the client many people use beside mosquitto's, publishing or subscribing.
//   node mqttjs_peer.js pub URL PROTOCOL_VERSION TOPIC QOS PAYLOAD    (MQTT 5: with content type and a user property)
//   node mqttjs_peer.js sub URL PROTOCOL_VERSION FILTER COUNT         (prints "topic qos payload [k=v...]" per message;
//                                                                      "subscribed" on stderr once SUBACK arrived)
'use strict';
const mqtt = require('mqtt');

const [mode, url, version, topic, fourth, fifth] = process.argv.slice(2);
const protocolVersion = Number(version);
const fail = (why) => {
  console.error(`mqttjs_peer: ${why}`);
  process.exit(1);
};
setTimeout(() => fail('timed out'), 15000).unref();

const client = mqtt.connect(url, { protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
// Once we said DISCONNECT, the broker closing the socket (sometimes as a reset) is the expected end.
let ending = false;
const finish = () => {
  ending = true;
  client.end(false, () => process.exit(0));
};
client.on('error', (err) => {
  if (!ending) fail(err);
});

if (mode === 'pub') {
  client.on('connect', () => {
    const options = { qos: Number(fourth) };
    if (protocolVersion === 5) {
      options.properties = { contentType: 'text/plain', userProperties: { origin: 'mqtt.js' } };
    }
    client.publish(topic, fifth, options, (err) => {
      if (err) fail(err);
      finish();
    });
  });
} else if (mode === 'sub') {
  const count = Number(fourth);
  let received = 0;
  client.on('connect', () => {
    client.subscribe(topic, { qos: 2 }, (err) => {
      if (err) fail(err);
      console.error('subscribed');
    });
  });
  client.on('message', (t, payload, packet) => {
    let line = `${t} ${packet.qos} ${payload.toString()}`;
    const userProperties = (packet.properties && packet.properties.userProperties) || {};
    for (const [k, v] of Object.entries(userProperties)) line += ` ${k}=${v}`;
    process.stdout.write(line + '\n');
    if (++received === count) finish();
  });
} else {
  fail(`unknown mode ${mode}`);
}
