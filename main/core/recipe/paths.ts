// Where the recipe puts things on the droplet. One table so the generator, the scripts, the docs and
// the fake droplet's reader agree.

export const DROPLET_PATHS = {
  setupScript: '/usr/local/lib/dictumal/setup',
  beaconScript: '/usr/local/lib/dictumal/beacon',
  /** Serves the setup log on 443 until Nginx does (setup-log-server.ts). */
  setupLogServer: '/usr/local/lib/dictumal/setup-log-server',
  deploymentFile: '/etc/dictumal/deployment',
  secretsEnv: '/etc/dictumal/secrets.env',
  /** RAM only (tmpfs): where the secrets wait, off the disk, until VNC has its password. */
  runDir: '/run/dictumal',
  runSecrets: '/run/dictumal/secrets.env',
  guacamoleEnv: '/etc/dictumal/guacamole.env',
  certPem: '/etc/dictumal/tls/cert.pem',
  keyPem: '/etc/dictumal/tls/key.pem',
  nginxSite: '/etc/dictumal/nginx-site.conf',
  /** Root only: the deployment's setup log key (64 hex), absent for deployments made before keys. */
  logKey: '/etc/dictumal/log-key',
  /** Root only: included by Nginx's setup log location; checks the Bearer key, or always 404 without one. */
  nginxSetupLogAuth: '/etc/dictumal/nginx-setup-log.conf',
  /** Sourced by the Guacamole image's entrypoint (its documented entrypoint.d hook). */
  guacamoleHook: '/etc/dictumal/guacamole-entrypoint.sh',
  /** Lines spliced into UFW's before.rules: the metadata service for root only, loopback ports never from outside. */
  firewallRules: '/etc/dictumal/ufw-before.rules',
  activityUnit: '/etc/systemd/system/dictumal-activity.service',
  setupLogUnit: '/etc/systemd/system/dictumal-setup-log.service',
  /** Written once the install half is on the disk (an image build, or a full run): names the recipe version. */
  imageFile: '/etc/dictumal/image.json',
  constitution: '/etc/dictumal/constitution.md',
  authorizedKeys: '/etc/dictumal/authorized_keys',
  desktopConstitution: '/home/dictumal/Desktop/constitution.md',
  log: '/var/log/dictumal-init.log',
  stateDir: '/var/lib/dictumal/state',
  webRoot: '/var/lib/dictumal/www',
  beaconFile: '/var/lib/dictumal/www/dictumal/status.json',
} as const

export const DESKTOP_USER = 'dictumal'
/** Pinned so every droplet runs what was tested; 1.6 is the first with JSON auth configured by env alone. */
export const GUACD_IMAGE = 'guacamole/guacd:1.6.0'
export const GUACAMOLE_IMAGE = 'guacamole/guacamole:1.6.0'
export const FIREWALL_ALLOWED_TCP_PORTS = [22, 80, 443] as const
/** Services that listen on loopback only: guacd, VNC, Tomcat. Dropped from outside even if UFW were opened. */
export const LOOPBACK_ONLY_TCP_PORTS = [4822, 5901, 8080] as const
export const METADATA_ADDRESS = '169.254.169.254'
