#!/usr/bin/env node
// Connects once with npm mqtt (MQTT.js) and reports the broker's answer: a client independent of coromqtt,
// to test brokers and credentials with.
//
// Usage: node mqtt_connect.js --port N [--host H] [--username U] [--password P] [--client-id ID]
//                             [--protocol-version 4|5]
//
// stdout: "CONNACK <code>" (0 = accepted; 3.1.1 return code or MQTT 5 reason code) and exit 0 when the broker
// answered; "ERROR <message>" and exit 1 on anything else (no answer within 5 s, connection refused...).
'use strict'

const mqtt = require('mqtt')

const options = { host: '127.0.0.1', protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, clean: true }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i += 2) {
  const [name, value] = [argv[i], argv[i + 1]]
  switch (name) {
    case '--port': options.port = Number(value); break
    case '--host': options.host = value; break
    case '--username': options.username = value; break
    case '--password': options.password = value; break
    case '--client-id': options.clientId = value; break
    case '--protocol-version': options.protocolVersion = Number(value); break
    default:
      console.error(`unknown option ${name}`)
      process.exit(2)
  }
}
if (!options.port) {
  console.error('usage: node mqtt_connect.js --port N [--username U] [--password P] [--client-id ID]')
  process.exit(2)
}

let reported = false
function report (line, status) {
  if (reported) return
  reported = true
  console.log(line)
  client.end(true, () => process.exit(status))
  setTimeout(() => process.exit(status), 500).unref()
}

const client = mqtt.connect(options)
client.on('connect', (connack) => report(`CONNACK ${connack.returnCode ?? connack.reasonCode ?? 0}`, 0))
client.on('error', (err) => {
  // MQTT.js reports a refusing CONNACK as an error carrying the code.
  if (typeof err.code === 'number') report(`CONNACK ${err.code}`, 0)
  else report(`ERROR ${err.message}`, 1)
})
client.on('close', () => report('ERROR connection closed without CONNACK', 1))
setTimeout(() => report('ERROR no CONNACK within 5 s', 1), 6000).unref()
