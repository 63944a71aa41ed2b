// Runs in the page before the renderer: builds window.dictumal from the same domain API as the
// preload, over Playwright bindings instead of ipcRenderer.
import { createDictumalApi, type Transport } from '../../preload/api'

interface HostWindow {
  __dictumalInvoke(channel: string, args: unknown[]): Promise<unknown>
  __dictumalDispatch(channel: string, payload: unknown): void
  dictumal: unknown
}

const host = window as unknown as HostWindow
const listeners = new Map<string, Set<(payload: unknown) => void>>()

host.__dictumalDispatch = (channel, payload) => {
  for (const listener of listeners.get(channel) ?? []) listener(payload)
}

const transport: Transport = {
  invoke: (channel, ...args) => host.__dictumalInvoke(channel, args) as never,
  on: (channel, listener) => {
    const set = listeners.get(channel) ?? new Set()
    listeners.set(channel, set)
    const wrapped = listener as (payload: unknown) => void
    set.add(wrapped)
    return () => {
      set.delete(wrapped)
    }
  },
}

host.dictumal = Object.freeze(createDictumalApi(transport))
