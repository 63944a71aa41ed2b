// What the Vitest globalSetup hands to every test worker about the DigitalOcean contract check.
export interface DigitalOceanContractContext {
  /** Loopback switchboard that fronts Prism and routes to each test file's fake; null when unavailable. */
  switchboardUrl: string | null
  specPath: string | null
  /** Why the contract check is off, for the skip message. */
  reason: string | null
}

declare module 'vitest' {
  export interface ProvidedContext {
    digitalOceanContract: DigitalOceanContractContext
  }
}
