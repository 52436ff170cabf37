// Package conf reads lbd's YAML configuration: a strict schema (unknown or
// repeated keys are errors), documented defaults, and validation, every
// error naming file:line:col.
//
// The same Load is used by `lbd -t`, by the daemon at start-up and by every
// reload, so a file that passes `lbd -t` is exactly a file the daemon
// accepts. Load only reads files; it changes nothing.
package conf
