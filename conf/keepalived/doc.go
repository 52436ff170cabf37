// Package keepalived migrates between keepalived.conf(5) and lbd's YAML.
//
// Import reads a keepalived configuration with keepalived's own
// pre-processing: '#' and '!' comments, "include" (and includer, includea
// ...) with globs relative to the including file, '@ID' / '@^ID'
// conditional lines evaluated against ParseOptions.ConfigIDs (keepalived's
// -i; keepalived defaults it to the host name, this package to no ID at
// all, so a converted file does not depend on the machine converting it:
// pass -i to choose; without it each dropped line is reported),
// "$NAME=value" definitions (multi-line with '\'; comment lines inside do
// not end them, and a line that is a comment once substituted is dropped),
// "$NAME" and "${NAME}" substitution (recursive, undefined names kept),
// ${_PWD} ${_HASH} ${_BANG} ${_INSTANCE} (not ${_RANDOM}), and
// "~SEQ(var, start, step, end)" / "~SEQx" lines. Every keyword keeps its
// file:line.
//
// It converts global_defs, the top-level net_namespace (lbd's
// global.net_namespace; net_namespace_ipvs only when it names the same
// namespace, since lbd programs IPVS where it runs), static_ipaddress,
// static_routes, static_rules, garp_group, vrrp_script, vrrp_track_file, vrrp_instance (with
// virtual_routes and virtual_rules), vrrp_sync_group,
// virtual_server_group and virtual_server with real_server
// and the TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK, PING_CHECK,
// FILE_CHECK, UDP_CHECK, DNS_CHECK and SMTP_CHECK checkers (an
// SMTP_CHECK's host blocks as the several checkers keepalived makes of
// them). Where keepalived's defaults differ from lbd's the
// converted file spells keepalived's out (VRRP version 2, no periodic
// gratuitous ARP, IPv6 instances on VRRPv3), so lbd behaves as keepalived
// did. Comments before a block or keyword become YAML comments. A script
// named without a path is looked up in PATH at conversion time, a relative
// one is taken from keepalived's working directory (/), and one that needs
// a shell runs through /bin/sh -c (bash for /dev/tcp), each with a finding.
//
// Syntax errors and bad values are errors naming file:line; a problem
// lbd's validation finds in the converted file is a finding at the
// keepalived block it came from. Every keyword of keepalived 2.2.7's
// grammar is known. What keepalived 2.2.7 warns about and then runs
// anyway is converted as keepalived runs it, with a finding at the line
// it names: an unknown keyword is left out (an Unsupported finding, so a
// typo is not missed), while one that opens a block is an error, since
// keepalived then reads the block's lines as the enclosing block's own; a
// vrrp_script without a script, a track_script entry naming none, a sync
// group without instances and an instance on lo without unicast peers are
// left out; of two notify scripts the first is kept. A known keyword lbd
// cannot express is never dropped silently:
// it becomes a Finding, NotApplicable (no effect on traffic: SNMP, e-mail,
// process tuning), Approximated or Unsupported. ChangesBehaviour reports
// whether any finding is Approximated or Unsupported (lbd import-keepalived
// then exits 1).
//
// Export writes a configuration back as keepalived.conf for a rollback
// (net_namespace, VRRP instances with their routes and rules, scripts, sync groups,
// static addresses, routes and rules, address and fwmark virtual servers
// with TCP, HTTP_GET, SSL_GET, MISC, PING and SMTP checks), with every value
// explicit.
package keepalived
