import { test } from '@playwright/test'
import { startUiApp } from './ui-harness'
import { pinnedAgent, probeGuacamoleHttps, gatewayAcceptsToken } from '../main/core/engine/probes'
import { request } from 'undici'
test('debug', async () => {
  const app = await startUiApp()
  await app.services.store.update((d) => { d.constitutions.push({ id: 'c1', name: 'x', body: 'y', createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() }) })
  const d = await app.services.engine.create({ constitutionId: 'c1', region: 'nyc3', size: 's-2vcpu-4gb' })
  for (let i = 0; i < 80; i++) {
    await new Promise((r) => setTimeout(r, 500))
    const r = app.services.engine.find(d.id)
    console.log(i, r.status, r.stage, JSON.stringify(r.checks))
    if (r.stage === 'final-health-check') {
      const agent = pinnedAgent(r.certFingerprint)
      console.log('https probe', await probeGuacamoleHttps(r.ip!, agent))
      try {
        const res = await request(`https://${r.ip}/guacamole/`, { dispatcher: agent })
        console.log('status', res.statusCode, (await res.body.text()).slice(0, 200))
      } catch (e) { console.log('err', e) }
      break
    }
  }
  await app.close()
})
