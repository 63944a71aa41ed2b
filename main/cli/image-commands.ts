// `dictumal image build|list|delete|copy` (SPEC §10) and the image half of `dictumal reconcile`.
// Same conventions as the rest of the CLI: --json prints one bare record per line, errors are one
// sentence on stderr, exit 0 ok, 1 failure, 2 usage (thrown by the caller's parser).
import type { DesktopImage } from '../../preload/contract'
import type { AppServices } from '../core/app-services'
import type { ImageFinding } from '../core/images/image-builder'
import { inline } from './terminal-text'

export interface ImageCliIo {
  stdout(text: string): void
  stderr(text: string): void
}

type Flags = Record<string, string | boolean | undefined>
type Parse = (argv: string[], options: Record<string, { type: 'string' | 'boolean' }>, maxPositionals: number) => { flags: Flags; positionals: string[] }

export const IMAGE_USAGE = `  image build [--region R] [--wait] [--json]   bake a desktop image (fast start) in region R
  image list [--json]              desktop images and their builds
  image delete ID                  delete an image and its snapshot (a build in progress is stopped)
  image copy ID --region R [--wait]  copy an image to another region
`

function gib(n: number | null): string {
  return n === null ? '-' : `${n.toFixed(1)} GiB`
}

export function imageLine(i: DesktopImage): string {
  // Names, regions and errors come from the data file or DigitalOcean: each stays on its own line.
  const parts = [i.id.slice(0, 8), inline(i.name), i.status, i.stage, `${String(i.percent).padStart(3)}%`, inline(i.regions.join(',') || i.region), gib(i.sizeGigabytes)]
  const pending = i.transfers.length > 0 ? `  (copying to ${inline(i.transfers.map((t) => t.region).join(', '))})` : ''
  const line = parts.join('  ') + pending
  return i.error ? `${line}\n  ${inline(i.error)}` : line
}

/** A record as --json prints it: the stored fields, without the driving process's bookkeeping. */
export function imageJson(i: DesktopImage): string {
  const { driver: _driver, ...rest } = i
  return JSON.stringify(rest)
}

function str(flags: Flags, name: string): string | undefined {
  const v = flags[name]
  return typeof v === 'string' ? v : undefined
}

export async function imageCommand(
  argv: string[],
  io: ImageCliIo,
  open: () => Promise<AppServices>,
  parse: Parse,
  usage: (message: string) => never,
): Promise<number> {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'build': {
      const { flags } = parse(rest, { region: { type: 'string' }, wait: { type: 'boolean' }, json: { type: 'boolean' } }, 0)
      const s = await open()
      const created = await s.images.build({ region: str(flags, 'region') ?? s.settings().defaultRegion })
      if (!flags.wait) {
        // This process ends here; the app, or `dictumal reconcile`, finishes the build from its record.
        await s.images.stop()
        io.stdout(
          flags.json
            ? `${imageJson(s.images.find(created.id))}\n`
            : `${imageLine(s.images.find(created.id))}\nBuilding; the Dictumal app or "dictumal reconcile" finishes it (a builder droplet costs money until then).\n`,
        )
        return 0
      }
      return followImage(s, created.id, flags.json === true, io)
    }
    case 'list': {
      const { flags } = parse(rest, { json: { type: 'boolean' } }, 0)
      const s = await open()
      const images = s.images.list()
      for (const i of images) io.stdout(flags.json ? `${imageJson(i)}\n` : `${imageLine(i)}\n`)
      if (!flags.json && images.length === 0) io.stdout('No desktop images yet: "dictumal image build" bakes one.\n')
      return 0
    }
    case 'delete': {
      const { positionals } = parse(rest, {}, 1)
      const [id] = positionals
      if (!id) usage('image delete needs an image ID.')
      const s = await open()
      const image = s.images.find(id)
      await s.images.delete(image.id)
      io.stdout(`Deleted image ${image.id.slice(0, 8)} (${inline(image.name)})${image.snapshotId ? ' and its snapshot' : ''}.\n`)
      return 0
    }
    case 'copy': {
      const { flags, positionals } = parse(rest, { region: { type: 'string' }, wait: { type: 'boolean' }, json: { type: 'boolean' } }, 1)
      const [id] = positionals
      const region = str(flags, 'region')
      if (!id) usage('image copy needs an image ID.')
      if (region === undefined) usage('image copy needs --region R.')
      const s = await open()
      const image = await s.images.copyToRegion(id, region)
      if (flags.wait) await s.images.followTransfers(image.id)
      else await s.images.stop()
      const now = s.images.find(image.id)
      io.stdout(flags.json ? `${imageJson(now)}\n` : `${imageLine(now)}\n`)
      if (flags.wait && !now.regions.includes(region.trim())) return 1
      return 0
    }
    default:
      return usage(sub === undefined ? 'image needs "build", "list", "delete" or "copy".' : `Unknown image command "${sub}".`)
  }
}

/** Prints the image on every change until it is READY (0) or ERROR / deleted (1), driving it meanwhile. */
export async function followImage(s: AppServices, id: string, json: boolean, io: ImageCliIo): Promise<number> {
  let last = ''
  const print = (i: DesktopImage | undefined): void => {
    if (!i) return
    const line = json ? imageJson(i) : imageLine(i)
    if (line === last) return
    last = line
    io.stdout(`${line}\n`)
  }
  print(s.store.read().images.find((i) => i.id === id))
  const off = s.store.onChange((data) => print(data.images.find((i) => i.id === id)))
  try {
    const final = await s.images.settled(id)
    print(final)
    return final.status === 'READY' ? 0 : 1
  } catch (error) {
    if (error instanceof Error && /deleted/.test(error.message)) return 1
    throw error
  } finally {
    off()
  }
}

/** The image half of `dictumal reconcile`: finds, prints (humans), then waits for resumed builds. */
export async function reconcileImages(s: AppServices, json: boolean, io: ImageCliIo): Promise<ImageFinding[]> {
  const findings = await s.images.reconcile()
  if (!json) {
    for (const f of findings) io.stdout(`${f.kind.padEnd(20)} ${inline(f.name)}  ${f.imageId?.slice(0, 8) ?? '-'}  droplet ${f.dropletId ?? '-'}\n`)
  }
  const building = s.images.list().filter((i) => i.status === 'BUILDING')
  if (building.length > 0 && !json) io.stdout(`Finishing ${building.length} image build(s)…\n`)
  for (const i of building) {
    const final = await s.images.settled(i.id).catch(() => null)
    if (final && !json) io.stdout(`${imageLine(final)}\n`)
  }
  return findings
}
