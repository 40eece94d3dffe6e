#!/usr/bin/env node
// An MQTT 3.1.1 broker (npm aedes) on loopback that lets a client in only when its password is a valid JWT,
// the way Google Cloud IoT Core did: signed by one of the given public keys (RS256 or ES256), not expired, for
// the expected audience. The user name is ignored.
//
// Usage: node aedes_jwt_broker.js --public-key FILE [--public-key FILE...] [--audience AUD] [--port N]
//                                 [--algorithms RS256,ES256]
//   --port 0 (the default) picks a free port.
//
// stdout: "PORT <n>" as the first line once listening on 127.0.0.1.
// stderr: one line per CONNECT:
//   accepted client=<id> alg=<alg> iat=<iat> exp=<exp>
//   rejected client=<id> reason=<why>
// A rejected client gets CONNACK return code 4, "bad user name or password".
// aedes 0.51 speaks MQTT 3.1 and 3.1.1 only: an MQTT 5 CONNECT gets return code 1 (unacceptable protocol).
// Exits with status 0 on SIGTERM or SIGINT.
'use strict'

const fs = require('fs')
const net = require('net')
const jwt = require('jsonwebtoken')
const aedesFactory = require('aedes')

function usage (message) {
  console.error(`aedes_jwt_broker: ${message}`)
  console.error('usage: node aedes_jwt_broker.js --public-key FILE [--public-key FILE...] [--audience AUD] ' +
                '[--port N] [--algorithms RS256,ES256]')
  process.exit(2)
}

function parseArguments (argv) {
  const settings = { publicKeys: [], audience: undefined, port: 0, algorithms: ['RS256', 'ES256'] }
  for (let i = 0; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]]
    if (value === undefined) usage(`${name} needs a value`)
    switch (name) {
      case '--public-key':
        try {
          settings.publicKeys.push({ file: value, pem: fs.readFileSync(value) })
        } catch (err) {
          usage(`cannot read ${value}: ${err.message}`)
        }
        break
      case '--audience': settings.audience = value; break
      case '--port':
        settings.port = Number(value)
        if (!Number.isInteger(settings.port) || settings.port < 0 || settings.port > 65535) usage(`bad port ${value}`)
        break
      case '--algorithms': settings.algorithms = value.split(','); break
      default: usage(`unknown option ${name}`)
    }
  }
  if (settings.publicKeys.length === 0) usage('at least one --public-key is required')
  return settings
}

const settings = parseArguments(process.argv.slice(2))

// Returns the verified token, or throws with the most telling reason. jsonwebtoken checks the signature before
// exp and aud, so with several keys, an error other than "invalid signature" comes from the key that signed.
function verifyToken (token) {
  const errors = []
  for (const key of settings.publicKeys) {
    try {
      const verified = jwt.verify(token, key.pem, {
        algorithms: settings.algorithms,
        audience: settings.audience,
        complete: true
      })
      // jsonwebtoken accepts a token without exp; a device token must expire.
      if (typeof verified.payload.exp !== 'number') throw new Error('the token has no exp claim')
      return verified
    } catch (err) {
      errors.push(err)
    }
  }
  const wrongKey = (err) => err.message === 'invalid signature' || /^"alg" parameter for/.test(err.message)
  throw errors.find((err) => !wrongKey(err)) || errors.find((err) => err.message === 'invalid signature') ||
        errors[0]
}

const broker = aedesFactory({
  authenticate (client, username, password, callback) {
    const id = client.id
    try {
      if (!password || password.length === 0) throw new Error('no password')
      const verified = verifyToken(password.toString('utf8'))
      console.error(`accepted client=${id} alg=${verified.header.alg} iat=${verified.payload.iat} ` +
                    `exp=${verified.payload.exp}`)
      callback(null, true)
    } catch (err) {
      console.error(`rejected client=${id} reason=${err.name && err.name !== 'Error' ? err.name + ': ' : ''}` +
                    `${err.message}`)
      const refusal = new Error('bad user name or password')
      refusal.returnCode = 4
      callback(refusal, false)
    }
  }
})

const server = net.createServer(broker.handle)
server.on('error', (err) => {
  console.error(`aedes_jwt_broker: ${err.message}`)
  process.exit(1)
})
server.listen(settings.port, '127.0.0.1', () => {
  process.stdout.write(`PORT ${server.address().port}\n`)
})

function stop () {
  // Connected clients would keep server.close() waiting: close the broker (and its clients) first, and do not
  // wait more than a second in any case.
  setTimeout(() => process.exit(0), 1000).unref()
  broker.close(() => server.close(() => process.exit(0)))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
