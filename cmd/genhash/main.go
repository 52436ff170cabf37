// Command genhash computes the MD5 digest of a web page the way keepalived's
// HTTP_GET and SSL_GET checkers do, for their "digest" option. It accepts
// the options of keepalived's genhash and prints the same output; only
// -h / --help differ: they print a manual page on stdout and exit 0.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
