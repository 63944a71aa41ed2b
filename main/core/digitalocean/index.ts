// The DigitalOcean service's public face: the client, its typed errors and its configuration helpers.
export { DigitalOceanClient, DEFAULT_API_URL, deploymentTag, publicIpv4 } from './client'
export type { CloudAction, CloudSnapshot, CreateDropletInput, DeleteOutcome, DigitalOceanClientOptions, DropletActionRequest } from './client'
export { DigitalOceanError, isDigitalOceanError, toUserError } from './errors'
export type { DigitalOceanErrorCode } from './errors'
export {
  DEFAULT_IMAGE_SLUG,
  isTruthy,
  newestUbuntuSlug,
  parseSshKeys,
  resolveApiUrl,
  resolveImageSlug,
  resolveTokenSource,
  tokenProvider,
} from './config'
export type { Env, TokenSource, TokenSourceInput } from './config'
export { RateBudget, systemClock } from './rate-budget'
export type { Clock } from './rate-budget'
export type { Account, Droplet, DropletStatus, Image, Region, Size, SshKey } from './schemas'
