// Rasterises Dictumal's icons from their vector sources in resources/ (icon.svg above 48 px,
// icon-small.svg at 16–48 px and for the Linux tray, tray-template.svg for the macOS menu bar) and
// writes them as PNG and ICO. Chromium (Debian's, or Playwright's) draws each SVG into a canvas at
// the exact pixel size; the pixels are encoded here, so the files depend only on the drawing.
// Usage: node scripts/make-icons.mjs [outDir]   (default: resources/)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { crc32, deflateSync } from 'node:zlib'
import { chromium } from 'playwright-core'

const RESOURCES = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'resources')

function chromiumExecutable() {
  const chosen = process.env.DICTUMAL_CHROMIUM
  if (chosen) return chosen
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined
}

/** RGBA pixels (straight alpha) of `svg` drawn at size×size. */
async function rasterise(page, svg, size) {
  const url = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`
  const data = await page.evaluate(
    async ({ url, size }) => {
      const image = new globalThis.Image(size, size)
      image.src = url
      await image.decode()
      const canvas = new globalThis.OffscreenCanvas(size, size)
      const context = canvas.getContext('2d')
      context.drawImage(image, 0, 0, size, size)
      return Array.from(context.getImageData(0, 0, size, size).data)
    },
    { url, size },
  )
  return Buffer.from(data)
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

export async function makeIcons(outDir, sourceDir = RESOURCES) {
  mkdirSync(outDir, { recursive: true })
  const source = (name) => readFileSync(join(sourceDir, name), 'utf8')
  const large = source('icon.svg')
  const small = source('icon-small.svg')
  const template = source('tray-template.svg')
  const executablePath = chromiumExecutable()
  const browser = await chromium.launch({ headless: true, ...(executablePath ? { executablePath } : {}) })
  try {
    const page = await browser.newPage()
    const png = async (svg, size) => encodePng(size, await rasterise(page, svg, size))
    const app = (size) => png(size <= 48 ? small : large, size)
    const ico = []
    for (const size of [16, 32, 48, 256]) ico.push({ size, png: await app(size) })
    const files = {
      'icon.png': await app(512),
      'icon.ico': encodeIco(ico),
      'trayTemplate.png': await png(template, 16),
      'trayTemplate@2x.png': await png(template, 32),
      'tray.png': await app(32),
    }
    for (const [name, data] of Object.entries(files)) writeFileSync(join(outDir, name), data)
    return Object.keys(files)
  } finally {
    await browser.close()
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? RESOURCES)
  const written = await makeIcons(outDir)
  process.stdout.write(`wrote ${written.join(', ')} to ${outDir}\n`)
}
