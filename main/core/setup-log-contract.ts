// The droplet's setup log over the network (issue 13, item 5): what the droplet serves and the app
// asks for, in one place so the recipe, the fake droplet and the engine agree.
//
//   GET https://<ip>/dictumal/setup-log          (port 443, the deployment's pinned certificate)
//   Authorization: Bearer <logKey>                (DeploymentSecrets.logKey, 64 hex)
//   Range: bytes=-<SETUP_LOG_TAIL_BYTES>          (optional; the app always sends it)
//
// 200 (whole file) or 206 (the last bytes), text/plain, Cache-Control: no-store. A missing or wrong
// key gets 404, the same answer as no log at all, so the path reveals nothing. Served from the moment
// the setup script starts (before Nginx exists, by a small TLS server with the same certificate) until
// the droplet is destroyed (by Nginx, once it owns 443). The log holds no secrets.

export const SETUP_LOG_PATH = '/dictumal/setup-log'
/** How much of the end of the log the app asks for and shows. */
export const SETUP_LOG_TAIL_BYTES = 64 * 1024

export function setupLogAuthorization(logKey: string): string {
  return `Bearer ${logKey}`
}
