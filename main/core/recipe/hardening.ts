// Droplet hardening that lives outside the setup script: UFW rules (metadata service for root only,
// loopback services never from outside) and the Guacamole image's entrypoint hook (Tomcat on loopback,
// no access log, since launch URLs carry a token in ?data=).
import { LOOPBACK_ONLY_TCP_PORTS, METADATA_ADDRESS } from './paths'

/** The marker the setup script looks for, so splicing the rules into before.rules happens once. */
export const FIREWALL_RULES_MARKER = 'dictumal-hardening'

/**
 * Spliced into /etc/ufw/before.rules right after "# End required lines", so UFW loads them on every boot
 * and they come before its loopback and conntrack accepts. The user data (every secret) stays readable
 * at the metadata service for the droplet's life; only root (uid 0) may ask it. Host-network containers
 * run as their image's unprivileged user, so the owner match covers them.
 */
export function firewallRules(): string {
  return `# ${FIREWALL_RULES_MARKER}: only root may reach the metadata service, which serves the user data.
-A ufw-before-output -d ${METADATA_ADDRESS} -m owner ! --uid-owner 0 -j REJECT
-A ufw-before-forward -d ${METADATA_ADDRESS} -j REJECT
# ${FIREWALL_RULES_MARKER}: guacd, VNC and Tomcat are loopback services, whatever else UFW allows.
-A ufw-before-input ! -i lo -p tcp -m multiport --dports ${LOOPBACK_ONLY_TCP_PORTS.join(',')} -j DROP
`
}

/**
 * Sourced (bash) by the guacamole/guacamole image's entrypoint after it generates CATALINA_BASE and
 * before Tomcat starts; xmlstarlet ships in the image. Tomcat's default server.xml logs every request
 * line, query string included, and listens on every address (host networking).
 */
export function guacamoleEntrypointHook(): string {
  return `# Dictumal: Tomcat on loopback only, and no access log (launch URLs carry a token).
xmlstarlet edit --inplace \\
  --delete '//Valve[@className="org.apache.catalina.valves.AccessLogValve"]' \\
  --delete '/Server/Service/Connector[@port="8080"]/@address' \\
  --insert '/Server/Service/Connector[@port="8080"]' --type attr -n address -v 127.0.0.1 \\
  "$CATALINA_BASE/conf/server.xml"
`
}
