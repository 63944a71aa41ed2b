// Draws Dictumal's icons (an indigo rounded square with a monitor glyph) and writes them as PNG and
// ICO with nothing but Node: shapes are signed-distance fields, so edges are anti-aliased exactly.
// Usage: node scripts/make-icons.mjs [outDir]   (default: resources/)
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { crc32, deflateSync } from 'node:zlib'

const BRAND = [0x4f, 0x46, 0xe5]
const WHITE = [0xff, 0xff, 0xff]
const BLACK = [0x00, 0x00, 0x00]

// Signed distance (negative inside) from (px, py) to a rounded rectangle centred at (cx, cy).
function roundedRect(px, py, cx, cy, halfW, halfH, radius) {
  const qx = Math.abs(px - cx) - halfW + radius
  const qy = Math.abs(py - cy) - halfH + radius
  const outside = Math.hypot(Math.max(qx, 0), Math.max(qy, 0))
  return outside + Math.min(Math.max(qx, qy), 0) - radius
}

const union = (a, b) => Math.min(a, b)
const ring = (d, width) => Math.abs(d + width / 2) - width / 2

/**
 * The monitor glyph in unit coordinates: a screen outline, a neck and a foot. `box` places it
 * inside the canvas ({ x, y, size } in units), `stroke` is the outline width in units.
 */
function monitor(px, py, box, stroke) {
  const u = (v) => v * box.size
  const x = (v) => box.x + u(v)
  const y = (v) => box.y + u(v)
  const screen = ring(roundedRect(px, py, x(0.5), y(0.4), u(0.5), u(0.33), u(0.08)), u(stroke))
  const neck = roundedRect(px, py, x(0.5), y(0.8), u(0.065), u(0.08), 0)
  const foot = roundedRect(px, py, x(0.5), y(0.9), u(0.24), u(0.05), u(0.05))
  return union(screen, union(neck, foot))
}

/** Renders `layers` (each { sdf(px, py) in units, color }) onto an RGBA buffer of size×size. */
function render(size, layers) {
  const pixels = Buffer.alloc(size * size * 4)
  for (let row = 0; row < size; row += 1) {
    for (let col = 0; col < size; col += 1) {
      // Pixel centre in unit space; distances are converted to pixels for a one-pixel AA ramp.
      const px = (col + 0.5) / size
      const py = (row + 0.5) / size
      let r = 0
      let g = 0
      let b = 0
      let a = 0
      for (const layer of layers) {
        const coverage = Math.min(1, Math.max(0, 0.5 - layer.sdf(px, py) * size))
        if (coverage === 0) continue
        // Source-over in straight alpha.
        const outA = coverage + a * (1 - coverage)
        r = (layer.color[0] * coverage + r * a * (1 - coverage)) / outA
        g = (layer.color[1] * coverage + g * a * (1 - coverage)) / outA
        b = (layer.color[2] * coverage + b * a * (1 - coverage)) / outA
        a = outA
      }
      const offset = (row * size + col) * 4
      pixels[offset] = Math.round(r)
      pixels[offset + 1] = Math.round(g)
      pixels[offset + 2] = Math.round(b)
      pixels[offset + 3] = Math.round(a * 255)
    }
  }
  return pixels
}

function chunk(type, data) {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(typeAndData))
  return Buffer.concat([length, typeAndData, crc])
}

/** An 8-bit RGBA, non-interlaced PNG. */
export function encodePng(size, pixels) {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header[8] = 8 // bit depth
  header[9] = 6 // colour type RGBA
  const stride = size * 4
  const raw = Buffer.alloc((stride + 1) * size)
  for (let row = 0; row < size; row += 1) {
    raw[row * (stride + 1)] = 0 // filter: none
    pixels.copy(raw, row * (stride + 1) + 1, row * stride, (row + 1) * stride)
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

/** An ICO container with PNG-compressed entries (read by Windows Vista+ and electron-builder). */
export function encodeIco(images) {
  const header = Buffer.alloc(6)
  header.writeUInt16LE(0, 0)
  header.writeUInt16LE(1, 2) // type: icon
  header.writeUInt16LE(images.length, 4)
  const entries = []
  let offset = 6 + 16 * images.length
  for (const { size, png } of images) {
    const entry = Buffer.alloc(16)
    entry[0] = size >= 256 ? 0 : size // 0 means 256
    entry[1] = size >= 256 ? 0 : size
    entry[2] = 0 // no palette
    entry[3] = 0
    entry.writeUInt16LE(1, 4) // planes
    entry.writeUInt16LE(32, 6) // bits per pixel
    entry.writeUInt32LE(png.length, 8)
    entry.writeUInt32LE(offset, 12)
    offset += png.length
    entries.push(entry)
  }
  return Buffer.concat([header, ...entries, ...images.map((image) => image.png)])
}

/**
 * The same monitor drawn on a 16-unit pixel grid, so that at 16, 32 and 48 px every edge lands on
 * a pixel boundary instead of smearing across two. Rectangles are [left, top, right, bottom, radius].
 */
function gridMonitor(px, py, shape) {
  const g = (v) => v / 16
  const rect = ([l, t, r, b, radius]) =>
    roundedRect(px, py, g((l + r) / 2), g((t + b) / 2), g((r - l) / 2), g((b - t) / 2), g(radius))
  const screen = ring(rect(shape.screen), g(shape.stroke))
  return union(screen, union(rect(shape.neck), rect(shape.foot)))
}

const SMALL_GLYPH = { screen: [3, 4, 13, 10, 1], stroke: 1, neck: [7, 10, 9, 11, 0], foot: [5, 11, 11, 12, 0.5] }
const TRAY_GLYPH = { screen: [1, 2, 15, 11, 1.5], stroke: 2, neck: [7, 11, 9, 13, 0], foot: [4, 13, 12, 15, 1] }

/** The app icon: a margin for the platform's mask, the brand square, a white monitor. */
function appIcon(size) {
  const background = { color: BRAND }
  if (size <= 48) {
    // Small sizes fill the square edge to edge and use the pixel-aligned glyph.
    background.sdf = (px, py) => roundedRect(px, py, 0.5, 0.5, 0.5, 0.5, 0.2)
    return render(size, [background, { sdf: (px, py) => gridMonitor(px, py, SMALL_GLYPH), color: WHITE }])
  }
  const half = 0.5 - 0.08
  background.sdf = (px, py) => roundedRect(px, py, 0.5, 0.5, half, half, half * 0.45)
  const glyph = { x: 0.5 - 0.29, y: 0.5 - 0.29, size: 0.58 }
  return render(size, [background, { sdf: (px, py) => monitor(px, py, glyph, 0.09), color: WHITE }])
}

/** macOS menu-bar template: black glyph on transparency, the system tints it. */
function trayTemplate(size) {
  return render(size, [{ sdf: (px, py) => gridMonitor(px, py, TRAY_GLYPH), color: BLACK }])
}

export function makeIcons(outDir) {
  mkdirSync(outDir, { recursive: true })
  const png = (size, pixels) => encodePng(size, pixels)
  const files = {
    'icon.png': png(512, appIcon(512)),
    'icon.ico': encodeIco([16, 32, 48, 256].map((size) => ({ size, png: png(size, appIcon(size)) }))),
    'trayTemplate.png': png(16, trayTemplate(16)),
    'trayTemplate@2x.png': png(32, trayTemplate(32)),
    'tray.png': png(32, appIcon(32)),
  }
  for (const [name, data] of Object.entries(files)) writeFileSync(join(outDir, name), data)
  return Object.keys(files)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'resources'))
  const written = makeIcons(outDir)
  process.stdout.write(`wrote ${written.join(', ')} to ${outDir}\n`)
}
