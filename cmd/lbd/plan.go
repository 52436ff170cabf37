package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/lbd-project/lbd/internal/control"
	"github.com/lbd-project/lbd/ipvs"
	"github.com/lbd-project/lbd/lb"
)

// planFlags is the parser of `lbd plan`; runPlan and the manual's test
// share it.
func planFlags(stderr io.Writer) (fs *flag.FlagSet, file, socket *string) {
	fs, file = fileFlags("lbd plan", stderr)
	socket = fs.String("socket", "", "control socket `path` (default: the file's global.control_socket)")
	return fs, file, socket
}

// runPlan is `lbd plan -f FILE`: it prints, in ipvsadm syntax with
// +/~/-, the IPVS changes a reload of FILE would make, without making
// them. With a daemon listening on the control socket it asks it (exact:
// the daemon knows health and VRRP roles); otherwise it compares FILE
// with the kernel table itself (see lb.PlanOffline). Exit 0 with or
// without changes; 1 for a bad file or an unreadable kernel.
func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs, file, socket := planFlags(stderr)
	if code := parseOrHelp(fs, args, stdout, stderr); code >= 0 {
		return code
	}
	cfg := loadOrReport(*file, stderr)
	if cfg == nil {
		return exitConfig
	}
	abs, err := filepath.Abs(*file)
	if err != nil {
		fmt.Fprintf(stderr, "lbd plan: %v\n", err)
		return exitConfig
	}
	path := cmp.Or(*socket, cfg.Global.ControlSocket)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var changes []string
	if c, err := control.DialContext(ctx, path); err == nil {
		defer c.Close()
		var res control.PlanResult
		if err := c.Call(ctx, control.MethodPlan, control.PlanParams{File: abs}, &res); err != nil {
			fmt.Fprintf(stderr, "lbd plan: the daemon at %s: %v\n", path, err)
			return exitConfig
		}
		changes = res.Changes
		fmt.Fprintf(stderr, "lbd plan: asked the running daemon (%s)\n", path)
	} else {
		if !enterNetns("lbd plan", cfg, stderr) {
			return exitConfig
		}
		k, err := ipvs.Open()
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: no daemon at %s and no IPVS: %v\n", path, err)
			return exitConfig
		}
		defer k.Close()
		st, err := lb.LoadState(lb.StatePath(cfg))
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: %v\n", err)
			return exitConfig
		}
		plan, err := lb.PlanOffline(ctx, k, cfg, st)
		if err != nil {
			fmt.Fprintf(stderr, "lbd plan: %v\n", err)
			return exitConfig
		}
		changes = plan.Lines()
		fmt.Fprintf(stderr, "lbd plan: no daemon at %s; compared %s with the kernel table (health not known: servers count as up)\n", path, *file)
	}
	for _, c := range changes {
		fmt.Fprintln(stdout, c)
	}
	fmt.Fprintf(stderr, "lbd plan: %d %s\n", len(changes), plural(len(changes), "change"))
	return exitOK
}
