// Sandboxed preload: exposes the domain API as `window.dictumal`, never ipcRenderer itself.
import { contextBridge } from 'electron'
import { createDictumalApi } from './api'
import { ipcTransport } from './ipc'

contextBridge.exposeInMainWorld('dictumal', createDictumalApi(ipcTransport))
