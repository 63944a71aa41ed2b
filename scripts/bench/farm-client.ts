// The benchmark's fake cloud, behind one interface whether it runs in this process (test/fakes/droplet-farm)
// or in a child process (test/fakes/farm-process.ts, the default: real droplets do not use our CPU).
import { fork, type ChildProcess } from 'node:child_process'
import { startFakeCloud } from '../../test/fakes/droplet-farm'
import { farmReport, type FarmReply, type FarmReport, type FarmRequest } from '../../test/fakes/farm-process'

export interface BenchCloudOptions {
  token: string
  activeAfterMs: number
  ipAfterMs: number
  dropletLimit: number
  /** Each fake droplet takes stepMs ± stepJitterMs per setup step. */
  stepMs: number
  stepJitterMs: number
}

export interface BenchCloud {
  readonly url: string
  /** Where the fake API's request log stands now. */
  mark(): Promise<number>
  /** The fake API's requests since `mark`, and what every fake droplet saw. */
  report(fromRequest: number): Promise<FarmReport>
  close(): Promise<void>
}

export async function startInlineCloud(options: BenchCloudOptions): Promise<BenchCloud> {
  const cloud = await startFakeCloud({
    digitalOcean: { token: options.token, activeAfterMs: options.activeAfterMs, ipAfterMs: options.ipAfterMs, dropletLimit: options.dropletLimit },
    farm: {
      dropletOptions: () => ({ timeline: { stepMs: options.stepMs - options.stepJitterMs + Math.round(Math.random() * 2 * options.stepJitterMs) } }),
    },
  })
  return {
    url: cloud.digitalOcean.url,
    mark: () => Promise.resolve(cloud.digitalOcean.requests.length),
    report: (fromRequest) => Promise.resolve(farmReport(cloud, fromRequest)),
    close: () => cloud.close(),
  }
}

/** `modulePath`: the bundled farm-process module (scripts/bench.mjs builds it beside the benchmark). */
export async function startChildCloud(modulePath: URL, options: BenchCloudOptions): Promise<BenchCloud> {
  const child: ChildProcess = fork(modulePath, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const waiting: { resolve: (reply: FarmReply) => void; reject: (error: Error) => void }[] = []
  let gone: Error | null = null
  child.on('message', (reply: FarmReply) => waiting.shift()?.resolve(reply))
  child.on('exit', (code) => {
    gone = new Error(`The fake cloud's process ended (exit code ${code ?? 'none'}).`)
    for (const w of waiting.splice(0)) w.reject(gone)
  })
  const ask = (request: FarmRequest): Promise<FarmReply> => {
    if (gone) return Promise.reject(gone)
    return new Promise<FarmReply>((resolve, reject) => {
      waiting.push({ resolve, reject })
      child.send(request)
    }).then((reply) => {
      if (reply.type === 'error') throw new Error(`The fake cloud's process failed: ${reply.message}`)
      return reply
    })
  }
  const started = await ask({ type: 'start', ...options })
  if (started.type !== 'started') throw new Error('The fake cloud did not start.')
  return {
    url: started.url,
    async mark() {
      const reply = await ask({ type: 'mark' })
      return reply.type === 'marked' ? reply.requests : 0
    },
    async report(fromRequest) {
      const reply = await ask({ type: 'report', fromRequest })
      if (reply.type !== 'report') throw new Error('The fake cloud sent no report.')
      return reply.report
    },
    async close() {
      if (gone) return
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      await ask({ type: 'close' }).catch(() => {})
      await exited
    },
  }
}
