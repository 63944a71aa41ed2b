// Builds the `window.dictumal` domain API from a transport. The preload supplies an ipcRenderer
// transport; the e2e browser host supplies one over Playwright bindings, so both expose the same API.
import type { DictumalApi, EventChannel, EventChannels, InvokeChannel, InvokeChannels } from './contract'

export interface Transport {
  invoke<C extends InvokeChannel>(channel: C, ...args: Parameters<InvokeChannels[C]>): Promise<Awaited<ReturnType<InvokeChannels[C]>>>
  /** Subscribes to a pushed event; returns the unsubscribe function. */
  on<C extends EventChannel>(channel: C, listener: (payload: EventChannels[C]) => void): () => void
}

export function createDictumalApi(t: Transport): DictumalApi {
  return {
    app: {
      info: () => t.invoke('app:info'),
    },
    deployments: {
      onChanged: (listener) => t.on('deployments:changed', listener),
    },
  }
}
