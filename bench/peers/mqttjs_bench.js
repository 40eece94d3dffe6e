#!/usr/bin/env node
// The MQTT.js client of bench/compare (npm mqtt, from test/node/node_modules): the same command line,
// measurements and JSON summary as `coromqtt bench` (pub, sub, rtt, conn), written against MQTT.js's public
// API: publish callbacks keep the window full, 'message' events count arrivals.
//
//   node bench/peers/mqttjs_bench.js pub -h HOST -p PORT -q 1 -w 100 -n 100000 -s 64 -V 3.1.1 --json
//
// Percentiles come from a port of tools/bench_histogram.hpp (the same buckets), send times in payloads use
// the layout of tools/bench_stamp.hpp, so every client of the comparison is measured the same way.
'use strict'

const path = require('path')
const fs = require('fs')
const mqtt = require(path.join(__dirname, '..', '..', 'test', 'node', 'node_modules', 'mqtt'))

// --- Options (the subset of `coromqtt bench --help` the comparison uses) ------------------------------------------

function parseOptions (argv) {
  const o = {
    mode: argv[0], host: '127.0.0.1', port: 1883, clients: 1, count: null, duration: null, qos: 0, size: 64,
    topic: 'bench/%i', inflight: null, version: 4, keepalive: 60, idPrefix: 'coromqtt-bench', json: false,
    readyFile: '', idle: 2, connectConcurrency: 100
  }
  if (!['pub', 'sub', 'rtt', 'conn'].includes(o.mode)) usage(`unknown mode '${o.mode}'`)
  for (let i = 1; i < argv.length; ++i) {
    const a = argv[i]
    const value = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i] }
    switch (a) {
      case '--json': o.json = true; break
      case '--quiet': break
      case '-h': case '--host': o.host = value(); break
      case '-p': case '--port': o.port = Number(value()); break
      case '-L': case '--url': { const u = new URL(value()); o.host = u.hostname; o.port = Number(u.port || 1883); break }
      case '-c': case '--clients': o.clients = Number(value()); break
      case '-n': case '--count': o.count = Number(value()); break
      case '-d': case '--duration': o.duration = Number(value()); break
      case '-q': case '--qos': o.qos = Number(value()); break
      case '-s': case '--size': o.size = Number(value()); break
      case '-t': case '--topic': o.topic = value(); break
      case '-w': case '--inflight': o.inflight = Number(value()); break
      case '-V': case '--protocol': { const v = value(); o.version = (v === '5' || v === 'mqttv5') ? 5 : 4; break }
      case '-k': case '--keepalive': o.keepalive = Number(value()); break
      case '-i': case '--id-prefix': o.idPrefix = value(); break
      case '--ready-file': o.readyFile = value(); break
      case '--idle': o.idle = Number(value()); break
      case '--connect-concurrency': o.connectConcurrency = Number(value()); break
      default: usage(`unknown option '${a}'`)
    }
  }
  if (o.count === null) o.count = o.mode === 'pub' ? 100000 : o.mode === 'rtt' ? 10000 : Infinity
  if (o.inflight === null) o.inflight = o.mode === 'rtt' ? 1 : 100
  if (o.mode === 'rtt' && o.size < 16) o.size = 16
  if (o.mode === 'conn' && o.duration === null) o.duration = 5
  return o
}

function usage (why) {
  console.error(`mqttjs_bench: ${why}\nusage: mqttjs_bench.js <pub|sub|rtt|conn> -h HOST -p PORT [options of coromqtt bench]`)
  process.exit(2)
}

// --- The histogram of tools/bench_histogram.hpp -------------------------------------------------------------------

class LatencyHistogram {
  constructor () {
    this.counts = new Float64Array(128 + 57 * 128)
    this.count = 0; this.sum = 0; this.min = Infinity; this.max = 0
  }

  static bitWidth (v) {
    let e = 0
    while (v >= 4294967296) { v = Math.floor(v / 4294967296); e += 32 }
    return e + 32 - Math.clz32(v)
  }

  static indexOf (v) {
    if (v < 128) return v
    const exponent = LatencyHistogram.bitWidth(v) - 1
    const shift = exponent - 7
    const step = Math.floor(v / 2 ** shift) - 128
    return 128 + shift * 128 + step
  }

  static midpointOf (i) {
    if (i < 128) return i
    const doubling = Math.floor((i - 128) / 128)
    const step = (i - 128) % 128
    return (128 + step) * 2 ** doubling + Math.floor(2 ** doubling / 2)
  }

  record (ns) {
    ns = Math.max(0, Math.round(ns))
    this.counts[LatencyHistogram.indexOf(ns)]++
    this.count++; this.sum += ns
    if (ns < this.min) this.min = ns
    if (ns > this.max) this.max = ns
  }

  percentile (fraction) {
    if (this.count === 0) return 0
    const rank = Math.max(1, Math.ceil(fraction * this.count))
    let seen = 0
    for (let i = 0; i < this.counts.length; ++i) {
      seen += this.counts[i]
      if (seen >= rank) return Math.min(Math.max(LatencyHistogram.midpointOf(i), this.min), this.max)
    }
    return this.max
  }

  json (unit) {
    if (this.count === 0) return null
    const at = (f) => Number((this.percentile(f) / unit).toFixed(3))
    return { count: this.count, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999),
      max: Number((this.max / unit).toFixed(3)), mean: Number((this.sum / this.count / unit).toFixed(3)) }
  }
}

// --- Send times (tools/bench_stamp.hpp) ---------------------------------------------------------------------------

const stampMagic = 0x54534d415453514dn
const now = () => process.hrtime.bigint() // CLOCK_MONOTONIC, as steady_clock

function writeStamp (buffer) {
  if (buffer.length < 16) return
  buffer.writeBigUInt64LE(stampMagic, 0)
  buffer.writeBigUInt64LE(now(), 8)
}

function readStamp (buffer) {
  if (buffer.length < 16 || buffer.readBigUInt64LE(0) !== stampMagic) return null
  return buffer.readBigUInt64LE(8)
}

// --- The runs ---------------------------------------------------------------------------------------------------

const options = parseOptions(process.argv.slice(2))
const latency = new LatencyHistogram()
const connectTime = new LatencyHistogram()
const summary = {
  client: 'MQTT.js',
  client_version: require(path.join(__dirname, '..', '..', 'test', 'node', 'node_modules', 'mqtt', 'package.json')).version,
  mode: options.mode,
  protocol: options.version === 5 ? '5' : '3.1.1',
  qos: options.qos,
  payload: options.size,
  clients: options.clients,
  inflight: options.qos === 0 ? 0 : options.inflight,
  rate: 0,
  broker: `mqtt://${options.host}:${options.port}`,
  broker_version: '',
  messages: 0,
  errors: 0,
  reconnects: 0,
  elapsed_s: 0
}

function cpuSeconds () {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1e6
}

function connect (index) {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect({
      host: options.host,
      port: options.port,
      protocolVersion: options.version,
      clientId: `${options.idPrefix}-mqttjs-${index}`,
      clean: true,
      keepalive: options.keepalive,
      reconnectPeriod: 0,
      connectTimeout: 30000
    })
    client.once('connect', () => {
      // Nagle off, as every client of the comparison has it: MQTT.js has no option for it, but its stream is a
      // public property (MqttClient.stream). Without it a PUBACK followed by a PUBLISH waits for a delayed ACK.
      if (client.stream && client.stream.setNoDelay) client.stream.setNoDelay(true)
      resolve(client)
    })
    client.once('error', reject)
  })
}

function finish (begin, cpuBegin, end) {
  summary.elapsed_s = Number(end - begin) / 1e9
  summary.cpu_s = cpuSeconds() - cpuBegin
  summary.msgs_per_s = summary.elapsed_s > 0 ? summary.messages / summary.elapsed_s : 0
  summary.mb_per_s = summary.msgs_per_s * options.size / 1e6
  summary.cpu_ns_per_msg = summary.messages ? summary.cpu_s * 1e9 / summary.messages : 0
}

async function runPublish (client, topic) {
  const payload = Buffer.alloc(options.size, 'x')
  let issued = 0
  let completed = 0
  const begin = now()
  const cpuBegin = cpuSeconds()
  await new Promise((resolve) => {
    if (options.qos === 0) {
      // Publish in bursts, at most 1000 not yet written, as the other clients do.
      const pump = () => {
        while (issued < options.count && issued - completed < 1000) {
          ++issued
          client.publish(topic, payload, { qos: 0 }, (err) => {
            if (err) summary.errors++
            if (++completed === options.count) resolve()
            else if (issued - completed < 500) setImmediate(pump)
          })
        }
      }
      pump()
    } else {
      // The window: each acknowledgement publishes the next message.
      const publishNext = () => {
        if (issued >= options.count) return
        ++issued
        const sent = now()
        client.publish(topic, payload, { qos: options.qos }, (err) => {
          if (err) summary.errors++
          latency.record(Number(now() - sent))
          if (++completed === options.count) resolve()
          else publishNext()
        })
      }
      for (let i = 0; i < options.inflight; ++i) publishNext()
    }
  })
  if (options.qos === 0) await client.publishAsync(topic, Buffer.alloc(0), { qos: 1 }) // the marker
  summary.messages = completed - summary.errors
  finish(begin, cpuBegin, now())
}

async function runRoundTrips (client, topic) {
  await client.subscribeAsync(topic, { qos: options.qos })
  const payload = Buffer.alloc(options.size, 'x')
  let waiting = null
  let last = 0n
  client.on('message', (t, message) => {
    const at = now()
    const sent = readStamp(message)
    if (sent !== null) latency.record(Number(at - sent))
    last = at
    if (waiting) waiting()
  })
  const begin = now()
  const cpuBegin = cpuSeconds()
  for (let i = 0; i < options.count; ++i) {
    writeStamp(payload)
    const cameBack = new Promise((resolve) => { waiting = resolve })
    await Promise.all([client.publishAsync(topic, payload, { qos: options.qos }), cameBack])
    summary.messages++
  }
  finish(begin, cpuBegin, last)
}

async function runSubscriber (client, topic) {
  await client.subscribeAsync(topic, { qos: options.qos })
  if (options.readyFile) fs.writeFileSync(options.readyFile, 'subscribed\n')
  let first = 0n
  let last = 0n
  let received = 0
  const cpuBegin = cpuSeconds()
  await new Promise((resolve) => {
    client.on('message', (t, message) => {
      const at = now()
      if (first === 0n) first = at
      last = at
      const sent = readStamp(message)
      if (sent !== null) latency.record(Number(at - sent))
      if (++received >= options.count) resolve()
    })
    const idle = setInterval(() => {
      if (last !== 0n && Number(now() - last) / 1e9 > options.idle) {
        clearInterval(idle)
        resolve()
      }
    }, 100)
  })
  summary.messages = Math.max(0, received - 1) // n messages arrive over n - 1 intervals
  finish(first, cpuBegin, last)
}

async function runConnections () {
  global.gc?.()
  const rssBefore = process.memoryUsage.rss()
  const begin = now()
  const clients = []
  let next = 0
  const worker = async () => {
    while (next < options.clients) {
      const index = next++
      const started = now()
      try {
        clients.push(await connect(index))
        connectTime.record(Number(now() - started))
      } catch (e) {
        summary.errors++
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.connectConcurrency, options.clients) }, worker))
  summary.elapsed_s = Number(now() - begin) / 1e9
  global.gc?.()
  const rssAfter = process.memoryUsage.rss()
  summary.connections = clients.filter((c) => c.connected).length
  summary.bytes_per_connection = summary.connections ? Math.max(0, rssAfter - rssBefore) / summary.connections : 0
  await new Promise((resolve) => setTimeout(resolve, options.duration * 1000))
  summary.connections = clients.filter((c) => c.connected).length
  for (const c of clients) c.end(true)
  summary.msgs_per_s = 0; summary.mb_per_s = 0; summary.cpu_s = 0; summary.cpu_ns_per_msg = 0
}

async function main () {
  if (options.mode === 'conn') {
    await runConnections()
  } else {
    if (options.clients !== 1) usage('one client except in conn mode')
    const client = await connect(0)
    const topic = options.topic.replaceAll('%i', '0')
    if (options.mode === 'pub') await runPublish(client, topic)
    else if (options.mode === 'rtt') await runRoundTrips(client, topic)
    else await runSubscriber(client, topic)
    await client.endAsync()
  }
  summary.latency_us = latency.json(1e3)
  summary.peak_rss_kib = process.resourceUsage().maxRSS
  if (options.mode === 'conn') summary.connect_ms = connectTime.json(1e6)
  if (options.json) {
    console.log(JSON.stringify(summary))
  } else {
    console.log(summary)
  }
  process.exit(summary.errors ? 1 : 0)
}

main().catch((e) => {
  console.error(`mqttjs_bench: ${e.message}`)
  process.exit(1)
})
