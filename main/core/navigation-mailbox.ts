// A navigation asked for while the page cannot hear it (the tray's "New deployment…" with the window
// closed: the window is created, but its page has not loaded or subscribed yet). The request waits
// here, and the page takes it when it mounts. Once the page has mounted, requests go straight to it.
import type { NavigateRequest } from '../../preload/contract'

export interface NavigationMailbox {
  /** Sends now when the page is listening ('sent'), otherwise keeps it for the page ('queued'). */
  post(request: NavigateRequest, send: (request: NavigateRequest) => void): 'sent' | 'queued'
  /** The page mounted: hands over what waited (latest wins) and marks the page as listening. */
  take(): NavigateRequest | null
  /** The page is (re)loading or its window was created: it is not listening until it takes again. */
  reset(): void
}

export function createNavigationMailbox(): NavigationMailbox {
  let pending: NavigateRequest | null = null
  let listening = false
  return {
    post(request, send) {
      if (listening) {
        send(request)
        return 'sent'
      }
      pending = { ...request }
      return 'queued'
    },
    take() {
      listening = true
      const request = pending
      pending = null
      return request
    },
    reset() {
      listening = false
    },
  }
}
