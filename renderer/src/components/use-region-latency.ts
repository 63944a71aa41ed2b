// The round trip from this computer to each region, measured by main (catalog:latency) when the
// deploy dialog opens; regions without a measurement simply show none.
import { useEffect, useState } from 'react'
import { guarded } from '../store'

export function useRegionLatency(slugs: readonly string[]): Record<string, number | null> {
  const [latency, setLatency] = useState<Record<string, number | null>>({})
  const key = slugs.join(',')
  useEffect(() => {
    if (key === '') return
    let live = true
    void guarded(() => window.dictumal.catalog.latency(key.split(','))).then((answer) => {
      if (live && answer) setLatency(answer)
    })
    return () => {
      live = false
    }
  }, [key])
  return latency
}
