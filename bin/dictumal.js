#!/usr/bin/env node
// The `dictumal` command from npm (`npm i -g`) or a checkout. CommonJS (bin/package.json) in ES5
// syntax on purpose: any old Node can parse this file, so an old one prints the version it needs
// instead of a syntax error or a stack trace. The CLI itself (out/main/cli.js) needs Node 22.12.
'use strict'
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS on purpose (bin/package.json) */
var NEEDED = [22, 12]

function tooOld(version) {
  var parts = String(version).split('.')
  var major = parseInt(parts[0], 10)
  var minor = parseInt(parts[1], 10)
  if (major !== NEEDED[0]) return major < NEEDED[0]
  return minor < NEEDED[1]
}

if (tooOld(process.versions.node)) {
  process.stderr.write('dictumal needs Node.js ' + NEEDED.join('.') + ' or newer, and this is Node.js ' + process.versions.node + '.\n')
  process.exit(1)
}
require('./start.js')
