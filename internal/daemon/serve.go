package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/healthcheck"
	"github.com/lbd-project/lbd/internal/netns"
	"github.com/lbd-project/lbd/internal/script"
	"github.com/lbd-project/lbd/vrrp/vrrpnet"
)

// Options is what Serve runs.
type Options struct {
	// ConfigPath is the configuration file, read again on each reload.
	ConfigPath string
	// Logger gets the daemon's log.
	Logger *slog.Logger
}

// ConfigError is Serve's error for a configuration file that does not
// load: nothing was started, and Err (a conf.ErrorList for an invalid
// file) is for the caller to report.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Serve is `lbd -f FILE`: it loads opts.ConfigPath and runs it until
// SIGTERM, SIGINT or the end of ctx; SIGHUP reloads the file. With
// global.net_namespace it first enters that namespace (netns.Enter: the
// program is executed again inside it, and Serve starts over there). A
// file that does not load is a *ConfigError. An error after that (say
// IPVS missing for the file's virtual servers, or a namespace lbd cannot
// enter) is logged as the reason lbd stopped, and returned.
func Serve(ctx context.Context, opts Options) error {
	// PING_CHECK's and fast takeover's echo prober: one socket per
	// family, one count of forged replies.
	pinger := healthcheck.NewPinger()
	d := newDaemon(opts.ConfigPath, opts.Logger, vrrpnet.Host{Pinger: pinger, Logger: opts.Logger}, pinger)
	cfg, err := d.parser.Load(opts.ConfigPath)
	if err != nil {
		return &ConfigError{Err: err}
	}
	// Before anything opens a socket: entering executes lbd again inside
	// the namespace, and this process is gone.
	if name := cfg.Global.NetNamespace; name != "" {
		how, err := netns.Enter(name)
		if err != nil {
			d.log.Error("lbd: cannot run in the network namespace", "net_namespace", name, "err", err)
			return err
		}
		d.log.Info("lbd: running in the network namespace", "net_namespace", name, "how", how.String())
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	// Adopt and reap what scripts leave behind, and every orphan as PID 1.
	defer script.StartReaper(ctx)()
	if err := d.serve(ctx, cfg, sigs); err != nil {
		d.log.Error("lbd: stopped", "err", err)
		return err
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// firstError is the first line of a configuration error, with a count of
// the others, for systemd's one-line STATUS.
func firstError(err error) string {
	var list conf.ErrorList
	if errors.As(err, &list) && len(list) > 0 {
		s := list[0].Error()
		if len(list) > 1 {
			s += fmt.Sprintf(" (and %d more)", len(list)-1)
		}
		return s
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
