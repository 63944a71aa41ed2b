// The only main-process module that touches ipcMain and webContents.send. Every invoke is checked
// against its sender frame before a handler runs; sends skip destroyed windows.
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron'
import type { EventChannel, EventChannels, InvokeChannel } from '../preload/contract'
import type { Handlers } from './core/api'
import { isTrustedRendererUrl } from './core/dev-server'
import { log } from './core/log'

/** `devOrigin`: the dev server trusted under `npm run dev` (never in a packaged build). */
export function registerHandlers(handlers: Handlers, devOrigin: string | null = null): () => void {
  const channels = Object.keys(handlers) as InvokeChannel[]
  for (const channel of channels) {
    ipcMain.handle(channel, async (event: IpcMainInvokeEvent, ...args: unknown[]) => {
      if (!isTrustedRendererUrl(event.senderFrame?.url, devOrigin)) {
        log.warn('ipc', `refused ${channel} from an untrusted frame`)
        throw new Error('Refused: this request did not come from the Dictumal window.')
      }
      try {
        return await handlers[channel](...args)
      } catch (error) {
        log.error('ipc', `${channel} failed`, error)
        throw error
      }
    })
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel)
  }
}

export function send<C extends EventChannel>(target: WebContents | null | undefined, channel: C, payload: EventChannels[C]): void {
  if (!target || target.isDestroyed()) return
  target.send(channel, payload)
}
