// Package systemd speaks the sd_notify protocol for lbd (READY, RELOADING,
// STOPPING, STATUS, WATCHDOG) and ships the unit file lbd.service.
//
// Outside systemd (no NOTIFY_SOCKET) every call does nothing, so the
// daemon needs no special case for running in a terminal or a test.
package systemd
