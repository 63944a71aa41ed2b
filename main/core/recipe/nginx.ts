// The droplet's Nginx site: HTTPS on 443 with the app-made certificate in front of Guacamole, HTTP
// redirected to HTTPS except the beacon, the setup log on HTTPS only behind its key, and access logs that
// never record a launch token or the key.
import { SETUP_LOG_PATH } from '../setup-log-contract'
import { DROPLET_PATHS } from './paths'

export function nginxSiteConfig(): string {
  const { certPem, keyPem, webRoot, log, nginxSetupLogAuth } = DROPLET_PATHS
  const beacon = `    location = /dictumal/status.json {
        root ${webRoot};
        default_type application/json;
        add_header Cache-Control "no-store" always;
    }`
  return `# Dictumal gateway. The certificate is pinned by the app, so there is no server name to match.
# Logs $uri, not the full request line: the launch URL carries a Guacamole token in ?data=, which must not be logged.
# The error log records the request line with any error (an upstream not up yet, say), so only crit and
# worse are kept, which nginx writes outside request handling.
log_format dictumal '$remote_addr [$time_local] "$request_method $uri $server_protocol" $status $body_bytes_sent';

server {
    listen 80 default_server;
    listen [::]:80 default_server;
    server_name _;
    access_log /var/log/nginx/access.log dictumal;
    error_log /var/log/nginx/error.log crit;

${beacon}

    location / {
        return 301 https://$host$request_uri;
    }
}

server {
    listen 443 ssl default_server;
    listen [::]:443 ssl default_server;
    server_name _;
    access_log /var/log/nginx/access.log dictumal;
    error_log /var/log/nginx/error.log crit;

    ssl_certificate ${certPem};
    ssl_certificate_key ${keyPem};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:dictumal:1m;

${beacon}

    # The setup log (setup-log-contract.ts), on 443 only: the key never travels in clear. The included
    # root-only file answers 404 unless "Authorization: Bearer <key>" matches (always, without a key):
    # the same 404 as any unknown path. Range requests work natively; nothing here logs the header.
    location = ${SETUP_LOG_PATH} {
        include ${nginxSetupLogAuth};
        alias ${log};
        default_type text/plain;
        charset utf-8;
        add_header Cache-Control "no-store";
        add_header X-Content-Type-Options "nosniff";
    }

    location = / {
        return 302 /guacamole/;
    }

    # Settings from the Guacamole manual's reverse-proxy chapter: websocket tunnel, no buffering.
    location /guacamole/ {
        proxy_pass http://127.0.0.1:8080/guacamole/;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto https;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $http_connection;
        proxy_read_timeout 1h;
        proxy_send_timeout 1h;
        client_max_body_size 1g;
    }
}
`
}
