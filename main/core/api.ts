// The app's request handlers, one per invoke channel, shared by Electron's IPC and the e2e browser
// host. Every argument arrives as `unknown` and is narrowed here before any service sees it;
// expected failures come back as `{ ok: false, error }` with one sentence, never a stack.
import { z } from 'zod'
import type { DesktopAction, EventChannel, EventChannels, InvokeChannel, InvokeChannels, Result } from '../../preload/contract'
import type { AppServices } from './app-services'
import { settingsView } from './config'
import { sshKeyProblem } from './digitalocean/config'
import { dropletUsage, explainDropletLimit } from './droplet-usage'
import { summarizeCost, type PriceList } from './cost'
import { checkDisplayName } from './display-name'
import { isValidLaunchHost } from './guacamole-token'
import { constitutionFitError } from './recipe'
import { log } from './log'
import { createLatencyProbe } from './region-latency'
import { createConstitution, deleteConstitution, updateConstitution, updateSettings } from './store'
import { AppError, fail, isExpected, ok } from './user-error'

export type Handlers = {
  [C in InvokeChannel]: (...args: unknown[]) => Promise<Awaited<ReturnType<InvokeChannels[C]>>>
}

export type EmitEvent = <C extends EventChannel>(channel: C, payload: EventChannels[C]) => void

export class InvalidArgumentError extends Error {
  constructor(channel: string, detail: string) {
    super(`Invalid argument for ${channel}: ${detail}`)
    this.name = 'InvalidArgumentError'
  }
}

function args<T extends z.ZodType>(channel: string, schema: T, raw: unknown[]): z.infer<T> {
  const parsed = schema.safeParse(raw)
  if (!parsed.success) throw new InvalidArgumentError(channel, parsed.error.issues[0]?.message ?? 'invalid')
  return parsed.data
}

const none = z.tuple([])
const id = z.string().trim().min(1).max(64)
const dropletId = z.number().int().positive()
const desktopActions = ['back', 'reconnect', 'fullscreen', 'open-separately'] as const satisfies readonly DesktopAction[]

/** A DigitalOcean SSH key id or MD5 fingerprint; anything else gets sshKeyProblem's sentence. */
function sshKey(where: string) {
  return z
    .string()
    .max(128)
    .superRefine((key, ctx) => {
      const problem = sshKeyProblem(key, where)
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem })
    })
}

const schemas = {
  token: z.tuple([z.string().max(512)]),
  constitution: z.tuple([z.object({ id: id.optional(), name: z.string().max(200), body: z.string().max(1_000_000) }).strict()]),
  id: z.tuple([id]),
  rename: z.tuple([z.object({ id, name: z.string().max(500) }).strict()]),
  create: z.tuple([
    z
      .object({ constitutionId: id, region: z.string().max(64), size: z.string().max(64), fresh: z.boolean().optional(), sshKeys: z.array(sshKey('this deploy')).max(50).optional() })
      .strict(),
  ]),
  imageBuild: z.tuple([z.object({ region: z.string().max(64) }).strict()]),
  imageCopy: z.tuple([z.object({ id, region: z.string().max(64) }).strict()]),
  imagePlan: z.tuple([z.object({ region: z.string().max(64), fresh: z.boolean() }).strict()]),
  open: z.tuple([z.object({ id, mode: z.enum(['embedded', 'window']) }).strict()]),
  action: z.tuple([z.enum(desktopActions)]),
  layout: z.tuple([
    z.object({ x: z.number().finite(), y: z.number().finite(), width: z.number().finite(), height: z.number().finite(), covered: z.boolean() }).strict(),
  ]),
  droplet: z.tuple([dropletId]),
  settings: z.tuple([
    z
      .object({
        defaultRegion: z.string().max(64),
        defaultSize: z.string().max(64),
        imageSlug: z.string().max(128).nullable(),
        useLatestUbuntu: z.boolean(),
        sshKeys: z.array(sshKey('Settings')).max(50),
        gatewayHost: z
          .string()
          .trim()
          .max(253)
          .refine((h) => h === '' || isValidLaunchHost(h), 'The gateway host must be a host name or IP address, without https:// or a path.'),
        desktopClipboardRead: z.boolean(),
        idleHibernateMinutes: z
          .number()
          .nullable()
          .refine(
            (m) => m === null || (Number.isInteger(m) && m >= 10 && m <= 7 * 24 * 60),
            'Hibernate idle desktops after 10 minutes to 7 days (whole minutes), or turn it off.',
          ),
      })
      .partial()
      .strict(),
  ]),
}

/** DigitalOcean's prices by size slug from the (cached) catalog; null while they cannot be had. */
export async function priceList(s: Pick<AppServices, 'catalog'>): Promise<PriceList | null> {
  try {
    const catalog = await s.catalog()
    return new Map(catalog.sizes.map((size) => [size.slug, { priceHourly: size.priceHourly, priceMonthly: size.priceMonthly }]))
  } catch {
    return null
  }
}

/** Runs a service call, turning expected failures into a Result and logging the unexpected. */
async function attempt<T>(channel: string, task: () => Promise<T>): Promise<Result<T>> {
  try {
    return ok(await task())
  } catch (error) {
    if (!isExpected(error)) log.error('api', `${channel} failed unexpectedly`, error)
    return fail(error)
  }
}

async function unwrap<T>(result: Promise<Result<T>>): Promise<T> {
  const r = await result
  if (r.ok) return r.value
  throw new AppError(r.error.code, r.error.message, r.error.hint)
}

export function createHandlers(s: AppServices): Handlers {
  const latency = createLatencyProbe(s.env)
  const needShell = (): NonNullable<AppServices['shell']> => {
    if (!s.shell) throw new AppError('no-shell', 'Desktops open only in the Dictumal app window.')
    return s.shell
  }

  return {
    'app:info': async (...raw) => {
      args('app:info', none, raw)
      return { ...s.info }
    },
    'auth:status': async (...raw) => {
      args('auth:status', none, raw)
      return s.authStatus()
    },
    'auth:set-token': async (...raw) => {
      const [token] = args('auth:set-token', schemas.token, raw)
      return attempt('auth:set-token', async () => {
        const trimmed = token.trim()
        if (trimmed === '') throw new AppError('token-empty', 'Paste a DigitalOcean personal access token first.')
        await s.validateToken(trimmed)
        await s.secrets.setToken(trimmed)
        await s.notifyAuthChanged()
        void s.engine.reconcile().catch((e: unknown) => log.warn('engine', 'reconcile after login failed', e))
        return s.authStatus({ refresh: true })
      })
    },
    'auth:remove-token': async (...raw) => {
      args('auth:remove-token', none, raw)
      return attempt('auth:remove-token', async () => {
        await s.secrets.deleteToken()
        await s.notifyAuthChanged()
        return s.authStatus({ refresh: true })
      })
    },
    'constitutions:list': async (...raw) => {
      args('constitutions:list', none, raw)
      return s.store.read().constitutions.map((c) => ({ ...c }))
    },
    'constitutions:save': async (...raw) => {
      const [input] = args('constitutions:save', schemas.constitution, raw)
      const fields = { name: input.name, body: input.body }
      return attempt('constitutions:save', async () => {
        // Refused here, with the sentence the CLI gives, rather than at deploy time.
        const misfit = constitutionFitError(fields)
        if (misfit !== null) throw new AppError(misfit.code, misfit.message, misfit.hint)
        return unwrap(input.id === undefined ? createConstitution(s.store, fields) : updateConstitution(s.store, input.id, fields))
      })
    },
    'constitutions:delete': async (...raw) => {
      const [constitutionId] = args('constitutions:delete', schemas.id, raw)
      return attempt('constitutions:delete', () => unwrap(deleteConstitution(s.store, constitutionId)))
    },
    'catalog:get': async (...raw) => {
      args('catalog:get', none, raw)
      return attempt('catalog:get', () => s.catalog())
    },
    'catalog:latency': async (...raw) => {
      const [regions] = args('catalog:latency', z.tuple([z.array(z.string().max(16)).max(40)]), raw)
      return latency.measure(regions)
    },
    'account:ssh-keys': async (...raw) => {
      args('account:ssh-keys', none, raw)
      return attempt('account:ssh-keys', () => s.sshKeyOptions())
    },
    'account:droplets': async (...raw) => {
      args('account:droplets', none, raw)
      return attempt('account:droplets', () => dropletUsage(s.client))
    },
    'deployments:list': async (...raw) => {
      args('deployments:list', none, raw)
      return s.engine.list()
    },
    'deployments:cost': async (...raw) => {
      args('deployments:cost', none, raw)
      return summarizeCost(s.engine.list(), await priceList(s))
    },
    'deployments:live': async (...raw) => {
      args('deployments:live', none, raw)
      return s.engine.live.snapshot()
    },
    'deployments:recheck': async (...raw) => {
      const [deploymentId] = args('deployments:recheck', schemas.id, raw)
      s.health.recheckSoon(s.engine.find(deploymentId).id)
      void s.health.tick()
      return null
    },
    'deployments:create': async (...raw) => {
      const parsed = schemas.create.safeParse(raw)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        // A key that DigitalOcean would refuse gets its sentence before anything is created.
        if (issue?.code === 'custom') return fail(new AppError('ssh-key-invalid', issue.message))
        throw new InvalidArgumentError('deployments:create', issue?.message ?? 'invalid')
      }
      const [input] = parsed.data
      return attempt('deployments:create', () => s.engine.create(input).catch(async (e: unknown) => Promise.reject(await explainDropletLimit(e, s.client))))
    },
    'deployments:setup-log': async (...raw) => {
      const [deploymentId] = args('deployments:setup-log', schemas.id, raw)
      return attempt('deployments:setup-log', () => s.engine.setupLog(deploymentId))
    },
    'deployments:copy-setup-log': async (...raw) => {
      const [deploymentId] = args('deployments:copy-setup-log', schemas.id, raw)
      return attempt('deployments:copy-setup-log', async () => {
        const shell = s.shell
        if (!shell) throw new AppError('no-shell', 'Copying the setup log works only in the Dictumal app window; use dictumal log ID in a terminal.')
        const { text } = await s.engine.setupLog(deploymentId)
        shell.copyText(text)
        return { lines: text === '' ? 0 : text.replace(/\n$/, '').split('\n').length }
      })
    },
    'deployments:destroy': async (...raw) => {
      const [deploymentId] = args('deployments:destroy', schemas.id, raw)
      return attempt('deployments:destroy', () => s.engine.destroy(deploymentId))
    },
    'deployments:rename': async (...raw) => {
      const [input] = args('deployments:rename', schemas.rename, raw)
      return attempt('deployments:rename', async () => {
        const target = s.engine.find(input.id)
        const name = checkDisplayName(input.name)
        await s.store.update((draft) => {
          const d = draft.deployments.find((x) => x.id === target.id)
          if (d) d.displayName = name
        })
        return s.engine.find(target.id)
      })
    },
    'deployments:hibernate': async (...raw) => {
      const [deploymentId] = args('deployments:hibernate', schemas.id, raw)
      return attempt('deployments:hibernate', async () => {
        const started = await s.hibernation.hibernate(deploymentId)
        // The app's engine drives the steps from its rounds.
        s.engine.start()
        return started
      })
    },
    'deployments:resume': async (...raw) => {
      const [deploymentId] = args('deployments:resume', schemas.id, raw)
      return attempt('deployments:resume', async () => {
        const resumed = await s.hibernation.resume(deploymentId)
        s.engine.start()
        return resumed
      })
    },
    'deployments:open': async (...raw) => {
      const [input] = args('deployments:open', schemas.open, raw)
      return attempt('deployments:open', async () => {
        const shell = needShell()
        const deployment = s.engine.find(input.id)
        // The embedded view pins the certificate to the droplet's IP, so it always launches by IP.
        await shell.openDesktop(deployment, input.mode, () => s.engine.launchUrl(deployment.id, { target: 'ip' }))
        return null
      })
    },
    'deployments:copy-ip': async (...raw) => {
      const [deploymentId] = args('deployments:copy-ip', schemas.id, raw)
      return attempt('deployments:copy-ip', async () => {
        const d = s.engine.find(deploymentId)
        if (d.ip === null) throw new AppError('no-ip', `"${d.name}" has no IP address yet.`)
        needShell().copyText(d.ip)
        return d.ip
      })
    },
    'desktop:action': async (...raw) => {
      const [action] = args('desktop:action', schemas.action, raw)
      return attempt('desktop:action', async () => {
        await needShell().desktopAction(action)
        return null
      })
    },
    'desktop:state': async (...raw) => {
      args('desktop:state', none, raw)
      return s.shell?.desktopState?.() ?? { deploymentId: s.shell?.currentDesktop?.() ?? null }
    },
    'desktop:layout': async (...raw) => {
      const [layout] = args('desktop:layout', schemas.layout, raw)
      s.shell?.setLayout?.(layout)
      return null
    },
    'navigate:pending': async (...raw) => {
      args('navigate:pending', none, raw)
      return s.shell?.takePendingNavigation?.() ?? null
    },
    'unmanaged:list': async (...raw) => {
      args('unmanaged:list', none, raw)
      return s.engine.unmanaged()
    },
    'unmanaged:adopt': async (...raw) => {
      const [droplet] = args('unmanaged:adopt', schemas.droplet, raw)
      return attempt('unmanaged:adopt', () => s.engine.adopt(droplet))
    },
    'unmanaged:destroy': async (...raw) => {
      const [droplet] = args('unmanaged:destroy', schemas.droplet, raw)
      return attempt('unmanaged:destroy', async () => {
        await s.engine.destroyUnmanaged(droplet)
        return null
      })
    },
    'images:list': async (...raw) => {
      args('images:list', none, raw)
      return s.images.list()
    },
    'images:build': async (...raw) => {
      const [input] = args('images:build', schemas.imageBuild, raw)
      return attempt('images:build', () => s.images.build(input))
    },
    'images:delete': async (...raw) => {
      const [imageId] = args('images:delete', schemas.id, raw)
      return attempt('images:delete', async () => {
        await s.images.delete(imageId)
        return null
      })
    },
    'images:copy': async (...raw) => {
      const [input] = args('images:copy', schemas.imageCopy, raw)
      return attempt('images:copy', () => s.images.copyToRegion(input.id, input.region))
    },
    'images:plan': async (...raw) => {
      const [input] = args('images:plan', schemas.imagePlan, raw)
      return s.images.planView(input)
    },
    'settings:get': async (...raw) => {
      args('settings:get', none, raw)
      return settingsView(s.env, s.settings())
    },
    'settings:update': async (...raw) => {
      const parsed = schemas.settings.safeParse(raw)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        // A value the user typed that does not fit gets its sentence; anything else is a bad caller.
        if (issue?.code === 'custom') return fail(new AppError('settings-invalid', issue.message))
        throw new InvalidArgumentError('settings:update', issue?.message ?? 'invalid')
      }
      const [patch] = parsed.data
      return attempt('settings:update', async () => {
        await unwrap(updateSettings(s.store, patch))
        return settingsView(s.env, s.settings())
      })
    },
  }
}

/** Wires core events to a sink (IPC send or the browser bridge); returns the unsubscribe function. */
export function subscribeEvents(s: AppServices, emit: EmitEvent): () => void {
  const offStore = s.store.onChange((data) => emit('deployments:changed', data.deployments.map((d) => ({ ...d }))))
  const offUnmanaged = s.engine.onUnmanagedChange((list) => emit('unmanaged:changed', list))
  const offLive = s.engine.live.onChange((notes) => emit('deployments:live-changed', notes))
  let lastImages = JSON.stringify(s.store.read().images)
  const offImages = s.store.onChange((data) => {
    const now = JSON.stringify(data.images)
    if (now === lastImages) return
    lastImages = now
    emit('images:changed', s.images.list())
  })
  const offAuth = s.onAuthChange((status) => emit('auth:changed', status))
  return () => {
    offStore()
    offUnmanaged()
    offLive()
    offImages()
    offAuth()
  }
}
