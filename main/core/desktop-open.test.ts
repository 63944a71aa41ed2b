// The desktop controller with a fake openView standing in for Electron: failed first loads, views
// that close while they open, Cancel while connecting, replacement, and bounds from the renderer.
import { describe, expect, it } from 'vitest'
import type { Deployment, DesktopState } from '../../preload/contract'
import { sampleDeployment } from '../../test/fixtures/deployment'
import { boundsFromLayout, shouldShowView, type Rect } from './desktop-layout'
import { createDesktopController, DESKTOP_TOOLBAR_HEIGHT, type DesktopControllerPorts, type DesktopView, type OpenViewRequest } from './desktop-open'
import { AppError } from './user-error'

interface FakeView extends DesktopView {
  request: OpenViewRequest
  bounds: Rect[]
  visible: boolean[]
  closed: boolean
  focused: number
}

type Behaviour = (request: OpenViewRequest, view: FakeView) => Promise<void>

/** A fake openView that behaves like main/desktop-view.ts: on a failed first load it closes the view (calling onClosed) and rejects. */
function harness(behaviour: Behaviour = async () => {}) {
  const states: DesktopState[] = []
  const views: FakeView[] = []
  let behave = behaviour
  const ports: DesktopControllerPorts = {
    async openView(request) {
      const view: FakeView = {
        request,
        bounds: [],
        visible: [],
        closed: false,
        focused: 0,
        setBounds: (rect) => view.bounds.push(rect),
        setVisible: (v) => view.visible.push(v),
        reconnect: async () => {},
        focus: () => {
          view.focused += 1
        },
        close: () => {
          if (view.closed) return
          view.closed = true
          request.onClosed()
        },
      }
      views.push(view)
      request.signal.addEventListener('abort', () => view.close())
      try {
        await behave(request, view)
      } catch (error) {
        view.close()
        throw error
      }
      return view
    },
    hasMainWindow: () => true,
    contentSize: () => ({ width: 1200, height: 800 }),
    onStateChange: (state) => states.push(state),
    toggleFullScreen: () => {},
    copyText: () => {},
  }
  const controller = createDesktopController(ports)
  return {
    controller,
    states,
    views,
    setBehaviour: (b: Behaviour) => {
      behave = b
    },
  }
}

const deployment = (over: Partial<Deployment> = {}): Deployment => ({ ...sampleDeployment(), status: 'ACTIVE', ip: '127.0.0.9', ...over })
const launch = async (): Promise<string> => 'https://127.0.0.9/guacamole/#/?token=secret'
const loadFailure = new AppError('desktop-load-failed', 'The desktop did not answer in time. Check that the droplet is running, then reconnect.')

describe('opening a desktop whose first load fails', () => {
  it('rejects with the load-failure sentence, not a ReferenceError (embedded)', async () => {
    const { controller, states } = harness(async () => {
      throw loadFailure
    })
    await expect(controller.openDesktop(deployment(), 'embedded', launch)).rejects.toThrow(loadFailure.message)
    expect(controller.currentDesktop()).toBeNull()
    expect(states.at(-1)).toEqual({ deploymentId: null })
  })

  it('rejects with the load-failure sentence, not a ReferenceError (separate window)', async () => {
    const { controller } = harness(async () => {
      throw loadFailure
    })
    await expect(controller.openDesktop(deployment(), 'window', launch)).rejects.toThrow(loadFailure.message)
  })

  it('survives a view that closes while it is still loading (the window was closed)', async () => {
    const { controller, states } = harness(async (_request, view) => {
      view.close()
      throw new AppError('desktop-load-failed', 'The desktop page did not load (network error -3). Reconnect to try again.')
    })
    await expect(controller.openDesktop(deployment(), 'embedded', launch)).rejects.toThrow(/did not load/)
    expect(states.at(-1)).toEqual({ deploymentId: null })
  })
})

describe('connecting, Cancel and replacement', () => {
  it('announces connecting first, then shows the view only after it loaded, focused', async () => {
    let finish = (): void => {}
    const { controller, states, views } = harness((_request, _view) => new Promise<void>((ok) => (finish = ok)))
    const opening = controller.openDesktop(deployment(), 'embedded', launch)
    await Promise.resolve()
    await Promise.resolve()
    expect(states.at(-1)).toEqual({ deploymentId: deployment().id, connecting: true })
    expect(views[0]?.visible).toEqual([])
    finish()
    await opening
    expect(states.at(-1)).toEqual({ deploymentId: deployment().id })
    expect(views[0]?.visible).toEqual([true])
    expect(views[0]?.bounds.at(-1)).toEqual({ x: 0, y: DESKTOP_TOOLBAR_HEIGHT, width: 1200, height: 800 - DESKTOP_TOOLBAR_HEIGHT })
    expect(views[0]?.focused).toBe(1)
  })

  it('Cancel while connecting closes the loading view and settles quietly', async () => {
    const { controller, states, views } = harness(
      (request) =>
        new Promise<void>((_ok, fail) => request.signal.addEventListener('abort', () => fail(new AppError('desktop-load-failed', 'aborted')))),
    )
    const opening = controller.openDesktop(deployment(), 'embedded', launch)
    await new Promise((ok) => setTimeout(ok, 0))
    await controller.desktopAction('back')
    await expect(opening).resolves.toBeUndefined()
    expect(views[0]?.closed).toBe(true)
    expect(states.at(-1)).toEqual({ deploymentId: null })
    expect(controller.currentDesktop()).toBeNull()
  })

  it('a new desktop replaces the old one only once it loaded; a failed one brings the old one back', async () => {
    const { controller, views, states, setBehaviour } = harness()
    const first = deployment({ id: 'aaaaaaaa-0000-4000-8000-000000000001', name: 'first' })
    await controller.openDesktop(first, 'embedded', launch)
    setBehaviour(async () => {
      throw loadFailure
    })
    await expect(controller.openDesktop(deployment({ id: 'bbbbbbbb-0000-4000-8000-000000000002' }), 'embedded', launch)).rejects.toThrow(loadFailure.message)
    expect(views[0]?.closed).toBe(false)
    expect(views[0]?.visible).toEqual([true, false, true])
    expect(controller.currentDesktop()).toBe(first.id)
    expect(states.at(-1)).toEqual({ deploymentId: first.id })

    setBehaviour(async () => {})
    const second = deployment({ id: 'cccccccc-0000-4000-8000-000000000003' })
    await controller.openDesktop(second, 'embedded', launch)
    expect(views[0]?.closed).toBe(true)
    expect(controller.currentDesktop()).toBe(second.id)
  })

  it('refuses a deployment without an IP with a sentence', async () => {
    const { controller } = harness()
    await expect(controller.openDesktop(deployment({ ip: null, name: 'box' }), 'embedded', launch)).rejects.toThrow('"box" has no IP address yet.')
  })
})

describe('layout from the renderer', () => {
  it('places the view where the placeholder is, and hides it while a dialog covers it', async () => {
    const { controller, views } = harness()
    await controller.openDesktop(deployment(), 'embedded', launch)
    controller.setLayout({ x: 0, y: 44.4, width: 1000.6, height: 700.2, covered: false })
    expect(views[0]?.bounds.at(-1)).toEqual({ x: 0, y: 44, width: 1001, height: 701 })
    expect(views[0]?.visible.at(-1)).toBe(true)
    controller.setLayout({ x: 0, y: 44, width: 1000, height: 700, covered: true })
    expect(views[0]?.visible.at(-1)).toBe(false)
    controller.setLayout({ x: 0, y: 44, width: 1000, height: 700, covered: false })
    expect(views[0]?.visible.at(-1)).toBe(true)
  })

  it('a view closed by the user clears the state', async () => {
    const { controller, views, states } = harness()
    await controller.openDesktop(deployment(), 'embedded', launch)
    views[0]?.close()
    expect(controller.currentDesktop()).toBeNull()
    expect(states.at(-1)).toEqual({ deploymentId: null })
  })
})

describe('boundsFromLayout', () => {
  const content = { width: 1200, height: 800 }
  it.each([
    [{ x: 0, y: 44, width: 1200, height: 756 }, { x: 0, y: 44, width: 1200, height: 756 }],
    [{ x: -20, y: 44, width: 1300, height: 900 }, { x: 0, y: 44, width: 1200, height: 756 }],
    [{ x: 10.4, y: 50.6, width: 99.5, height: 10 }, { x: 10, y: 51, width: 100, height: 10 }],
    [{ x: 5000, y: 5000, width: 10, height: 10 }, { x: 1200, y: 800, width: 0, height: 0 }],
  ])('clips %j to %j', (layout, expected) => {
    expect(boundsFromLayout(layout, content)).toEqual(expected)
  })

  it.each([
    { x: Number.NaN, y: 0, width: 10, height: 10 },
    { x: 0, y: Number.POSITIVE_INFINITY, width: 10, height: 10 },
    { x: 0, y: 0, width: -1, height: 10 },
    { x: 0, y: 0, width: 1e9, height: 10 },
  ])('refuses %j', (layout) => {
    expect(boundsFromLayout(layout, content)).toBeNull()
  })

  it('shows a view only with room and nothing over it', () => {
    expect(shouldShowView({ x: 0, y: 0, width: 10, height: 10 }, false)).toBe(true)
    expect(shouldShowView({ x: 0, y: 0, width: 10, height: 10 }, true)).toBe(false)
    expect(shouldShowView({ x: 0, y: 0, width: 0, height: 10 }, false)).toBe(false)
    expect(shouldShowView(null, false)).toBe(false)
  })
})
