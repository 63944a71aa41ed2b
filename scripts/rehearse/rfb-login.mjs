// A VNC login as guacd makes one: RFB 3.8 with VncAuth (DES of the server's challenge, the key being
// the password's first 8 bytes with each byte's bits reversed). Run inside the machine's network
// namespace (nsenter -n), since VNC listens on its loopback only.
// Usage: node rfb-login.mjs HOST PORT  (password on stdin). Prints one JSON line with what happened.
import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'

const [host = '127.0.0.1', port = '5901'] = process.argv.slice(2)
const password = await new Promise((resolve) => {
  let text = ''
  process.stdin.setEncoding('utf8').on('data', (c) => (text += c)).on('end', () => resolve(text.replace(/\n$/, '')))
})

function reverseBits(byte) {
  let out = 0
  for (let i = 0; i < 8; i++) if (byte & (1 << i)) out |= 1 << (7 - i)
  return out
}

function vncResponse(challenge) {
  const key = Buffer.alloc(8)
  Buffer.from(password, 'latin1').copy(key, 0, 0, 8)
  for (let i = 0; i < 8; i++) key[i] = reverseBits(key[i])
  return execFileSync('openssl', ['enc', '-des-ecb', '-provider', 'legacy', '-provider', 'default', '-nopad', '-K', key.toString('hex')], {
    input: challenge,
  })
}

const result = { connected: false, version: null, securityTypes: [], reason: null, authenticated: false, width: null, height: null, name: null }
const socket = connect({ host, port: Number(port) })
let buffer = Buffer.alloc(0)
let waiting = null
const timer = setTimeout(() => finish('timed out'), 15_000)

function finish(error) {
  clearTimeout(timer)
  if (error) result.error = error
  socket.destroy()
  process.stdout.write(`${JSON.stringify(result)}\n`)
  process.exit(0)
}

function read(n) {
  return new Promise((resolve) => {
    waiting = { n, resolve }
    pump()
  })
}

function pump() {
  if (waiting && buffer.length >= waiting.n) {
    const { n, resolve } = waiting
    waiting = null
    const chunk = buffer.subarray(0, n)
    buffer = buffer.subarray(n)
    resolve(chunk)
  }
}

socket.on('data', (d) => {
  buffer = Buffer.concat([buffer, d])
  pump()
})
socket.on('error', (e) => finish(e.message))
socket.on('close', () => finish(result.authenticated ? null : 'connection closed'))
socket.on('connect', async () => {
  result.connected = true
  result.version = (await read(12)).toString('latin1').trim()
  socket.write('RFB 003.008\n')
  const count = (await read(1))[0]
  if (count === 0) {
    const len = (await read(4)).readUInt32BE(0)
    result.reason = (await read(len)).toString('utf8')
    return finish('the server refused the connection')
  }
  result.securityTypes = [...(await read(count))]
  if (!result.securityTypes.includes(2)) return finish('VncAuth is not offered')
  socket.write(Buffer.from([2]))
  socket.write(vncResponse(await read(16)))
  const status = (await read(4)).readUInt32BE(0)
  if (status !== 0) {
    const len = (await read(4)).readUInt32BE(0)
    result.reason = (await read(len)).toString('utf8')
    return finish('authentication failed')
  }
  result.authenticated = true
  socket.write(Buffer.from([1]))
  const init = await read(24)
  result.width = init.readUInt16BE(0)
  result.height = init.readUInt16BE(2)
  result.name = (await read(init.readUInt32BE(20))).toString('utf8')
  finish(null)
})
