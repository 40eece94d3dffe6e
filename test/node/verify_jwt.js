#!/usr/bin/env node
// Verifies a JWT with npm jsonwebtoken, an implementation independent of coromqtt's signer.
//
// Usage: node verify_jwt.js <token> <public-key-file> <audience> [algorithms]
//   audience    the expected "aud"; "-" or "" skips the audience check
//   algorithms  comma-separated, default "RS256,ES256"
//
// Valid: prints {"header":{...},"payload":{...}} on stdout and exits 0.
// Rejected: prints "<ErrorName>: <message>" (e.g. "TokenExpiredError: jwt expired") on stderr and exits 1.
// Usage errors (missing arguments, unreadable key file) exit 2.
'use strict'

const fs = require('fs')
const jwt = require('jsonwebtoken')

const [token, keyFile, audience, algorithms = 'RS256,ES256'] = process.argv.slice(2)
if (token === undefined || keyFile === undefined || audience === undefined) {
  console.error('usage: node verify_jwt.js <token> <public-key-file> <audience|-> [algorithms]')
  process.exit(2)
}

let publicKey
try {
  publicKey = fs.readFileSync(keyFile)
} catch (err) {
  console.error(`cannot read ${keyFile}: ${err.message}`)
  process.exit(2)
}

const options = { algorithms: algorithms.split(','), complete: true }
if (audience !== '' && audience !== '-') {
  options.audience = audience
}

try {
  const verified = jwt.verify(token, publicKey, options)
  console.log(JSON.stringify({ header: verified.header, payload: verified.payload }))
} catch (err) {
  console.error(`${err.name}: ${err.message}`)
  process.exit(1)
}
