// The droplet limit in words: how many droplets the account uses of how many it may have, and the
// sentence (plus what to do) when DigitalOcean refuses a create because the limit is reached.
import type { DropletUsage, UserError } from '../../preload/contract'
import { isDigitalOceanError } from './digitalocean/errors'
import { AppError } from './user-error'

/** DigitalOcean's own form for asking for a higher droplet limit. */
export const LIMIT_INCREASE_URL = 'https://cloud.digitalocean.com/account/team/droplet_limit_increase'

export interface UsagePort {
  getAccount(): Promise<{ droplet_limit: number }>
  countDroplets(): Promise<number>
}

export async function dropletUsage(cloud: UsagePort): Promise<DropletUsage> {
  const [account, used] = await Promise.all([cloud.getAccount(), cloud.countDroplets()])
  return { used, limit: account.droplet_limit, atLimit: used >= account.droplet_limit }
}

function droplets(n: number): string {
  return n === 1 ? '1 droplet' : `${n} droplets`
}

/** "You use 10 of 10 droplets." */
export function usageSentence(usage: Pick<DropletUsage, 'used' | 'limit'>): string {
  return `You use ${usage.used} of ${droplets(usage.limit)}.`
}

export const LIMIT_HINT = `Destroy a desktop you no longer need (Deployments lists them), or ask DigitalOcean for a higher limit at ${LIMIT_INCREASE_URL}.`

/** The user's view of a full account, for the deploy dialog and the CLI. */
export function limitError(usage: Pick<DropletUsage, 'used' | 'limit'>): UserError {
  return {
    code: 'digitalocean/droplet-limit',
    message: `DigitalOcean will not create another droplet: ${usageSentence(usage).replace(/^You/, 'you')}`,
    hint: LIMIT_HINT,
  }
}

/**
 * A create refused for the droplet limit becomes "…you use 10 of 10 droplets" with what to do; the
 * count is asked for only then. Any other error (or a failed count) passes through unchanged.
 */
export async function explainDropletLimit(error: unknown, cloud: UsagePort): Promise<unknown> {
  if (!isDigitalOceanError(error) || error.code !== 'droplet-limit') return error
  try {
    const usage = await dropletUsage(cloud)
    const told = limitError(usage)
    return new AppError(told.code, told.message, told.hint)
  } catch {
    return new AppError('digitalocean/droplet-limit', error.userMessage, LIMIT_HINT)
  }
}
