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
    app: { info: () => t.invoke('app:info') },
    auth: {
      status: () => t.invoke('auth:status'),
      setToken: (token) => t.invoke('auth:set-token', token),
      removeToken: () => t.invoke('auth:remove-token'),
      onChanged: (listener) => t.on('auth:changed', listener),
    },
    constitutions: {
      list: () => t.invoke('constitutions:list'),
      save: (input) => t.invoke('constitutions:save', input),
      remove: (id) => t.invoke('constitutions:delete', id),
    },
    catalog: {
      get: () => t.invoke('catalog:get'),
      latency: (regions) => t.invoke('catalog:latency', regions),
      sshKeys: () => t.invoke('account:ssh-keys'),
      dropletUsage: () => t.invoke('account:droplets'),
    },
    deployments: {
      list: () => t.invoke('deployments:list'),
      cost: () => t.invoke('deployments:cost'),
      live: () => t.invoke('deployments:live'),
      onLive: (listener) => t.on('deployments:live-changed', listener),
      recheck: (id) => t.invoke('deployments:recheck', id),
      create: (input) => t.invoke('deployments:create', input),
      setupLog: (id) => t.invoke('deployments:setup-log', id),
      copySetupLog: (id) => t.invoke('deployments:copy-setup-log', id),
      destroy: (id) => t.invoke('deployments:destroy', id),
      rename: (input) => t.invoke('deployments:rename', input),
      hibernate: (id) => t.invoke('deployments:hibernate', id),
      resume: (id) => t.invoke('deployments:resume', id),
      open: (input) => t.invoke('deployments:open', input),
      copyIp: (id) => t.invoke('deployments:copy-ip', id),
      onChanged: (listener) => t.on('deployments:changed', listener),
    },
    desktop: {
      action: (action) => t.invoke('desktop:action', action),
      state: () => t.invoke('desktop:state'),
      layout: (layout) => t.invoke('desktop:layout', layout),
      onChanged: (listener) => t.on('desktop:changed', listener),
    },
    unmanaged: {
      list: () => t.invoke('unmanaged:list'),
      adopt: (dropletId) => t.invoke('unmanaged:adopt', dropletId),
      destroy: (dropletId) => t.invoke('unmanaged:destroy', dropletId),
      onChanged: (listener) => t.on('unmanaged:changed', listener),
    },
    settings: {
      get: () => t.invoke('settings:get'),
      update: (patch) => t.invoke('settings:update', patch),
    },
    images: {
      list: () => t.invoke('images:list'),
      build: (input) => t.invoke('images:build', input),
      remove: (id) => t.invoke('images:delete', id),
      copy: (input) => t.invoke('images:copy', input),
      plan: (input) => t.invoke('images:plan', input),
      onChanged: (listener) => t.on('images:changed', listener),
    },
    onNavigate: (listener) => t.on('navigate', listener),
    pendingNavigation: () => t.invoke('navigate:pending'),
  }
}
