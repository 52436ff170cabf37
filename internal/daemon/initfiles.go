package daemon

import (
	"strconv"

	"github.com/lbd-project/lbd/conf"
	"github.com/lbd-project/lbd/internal/safefile"
)

// initTrackFiles writes the track files the configuration initialises
// (init_file), before the trackers and checks first read them: at start
// and for each reload. A file that cannot be written is logged, and its
// tracker reads it as keepalived does (missing: 0); lbd goes on.
func (d *daemon) initTrackFiles(cfg *conf.Config) {
	for _, in := range cfg.TrackFileInits() {
		wrote, err := safefile.Init(in.Path, []byte(strconv.Itoa(in.Value)+"\n"), in.Overwrite)
		switch {
		case err != nil:
			d.log.Error("lbd: init_file: cannot write the track file", "file", in.Path, "err", err)
		case wrote:
			d.log.Info("lbd: init_file: track file written", "file", in.Path, "value", in.Value)
		}
	}
}
