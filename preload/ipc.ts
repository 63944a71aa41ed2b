// The only preload module that touches ipcRenderer: a typed transport over the contract's channels.
import { ipcRenderer } from 'electron'
import type { Transport } from './api'

export const ipcTransport: Transport = {
  invoke: (channel, ...args) => ipcRenderer.invoke(channel, ...args),
  on: (channel, listener) => {
    const wrapped = (_event: unknown, payload: unknown): void => {
      listener(payload as Parameters<typeof listener>[0])
    }
    ipcRenderer.on(channel, wrapped)
    return () => {
      ipcRenderer.removeListener(channel, wrapped)
    }
  },
}
