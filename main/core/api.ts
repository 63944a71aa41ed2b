// The app's request handlers, one per invoke channel, shared by Electron's IPC and the e2e browser
// host. Every argument arrives as `unknown` and is narrowed here before any service sees it.
import type { AppInfo, EventChannel, EventChannels, InvokeChannel, InvokeChannels } from '../../preload/contract'

export type Handlers = {
  [C in InvokeChannel]: (...args: unknown[]) => Promise<Awaited<ReturnType<InvokeChannels[C]>>>
}

export type EmitEvent = <C extends EventChannel>(channel: C, payload: EventChannels[C]) => void

export interface ApiServices {
  info: AppInfo
}

export class InvalidArgumentError extends Error {
  constructor(channel: string, detail: string) {
    super(`Invalid argument for ${channel}: ${detail}`)
    this.name = 'InvalidArgumentError'
  }
}

export function expectNoArgs(channel: string, args: unknown[]): void {
  if (args.length > 0) throw new InvalidArgumentError(channel, 'expected no arguments')
}

export function createHandlers(services: ApiServices): Handlers {
  return {
    'app:info': async (...args) => {
      expectNoArgs('app:info', args)
      return { ...services.info }
    },
  }
}

/** Wires core events to a sink (IPC send or the browser bridge); returns the unsubscribe function. */
export function subscribeEvents(_services: ApiServices, _emit: EmitEvent): () => void {
  return () => {}
}
