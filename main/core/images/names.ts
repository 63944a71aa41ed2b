// Names and tags of desktop images and their builder droplets (SPEC §10), in one place so the
// builder, reconcile and the engine (which must not list builders as unmanaged) agree.

/** Every builder droplet carries this tag besides `dictumal`. */
export const IMAGE_TAG = 'dictumal-image'

/** The per-build tag an uncertain create is found again by (`dictumal-<x>` with x = `image-<id>`). */
export function builderTagKey(imageId: string): string {
  return `image-${imageId}`
}

export function builderTag(imageId: string): string {
  return `dictumal-${builderTagKey(imageId)}`
}

export function builderName(imageId: string): string {
  return `dictumal-image-${imageId.slice(0, 8)}`
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** The image id a builder droplet's tags name, or null. */
export function imageIdFromTags(tags: readonly string[]): string | null {
  for (const tag of tags) {
    const id = tag.startsWith('dictumal-image-') ? tag.slice('dictumal-image-'.length) : ''
    if (UUID.test(id)) return id
  }
  return null
}

function pad(n: number): string {
  return String(n).padStart(2, '0')
}

/** `dictumal-image-r<recipeVersion>-<yyyymmdd-hhmm>` in UTC. */
export function snapshotNameFor(recipeVersion: number, at: Date): string {
  const day = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}`
  return `dictumal-image-r${recipeVersion}-${day}-${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}`
}
