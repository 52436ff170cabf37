package lb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lbd-project/lbd/conf"
)

// The run-time state file keeps State (real servers added with ipvsctl -a,
// drained ones) across restarts. It belongs to lb because State is lb's:
// the daemon reads it before New and saves it through Options.SaveState,
// and lbd plan reads it for PlanOffline.

// StateFile is the name of the run-time state file in global.state_dir.
const StateFile = "runtime.json"

// StatePath is the run-time state file of cfg.
func StatePath(cfg *conf.Config) string {
	return filepath.Join(cfg.Global.StateDir, StateFile)
}

// LoadState reads the run-time state file; a missing file is an empty
// state, an unreadable one an error (lbd does not start rather than
// forget run-time real servers silently).
func LoadState(path string) (State, error) {
	var st State
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("run-time state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("run-time state %s: %w (fix or remove the file)", path, err)
	}
	return st, nil
}

// SaveState writes the run-time state file atomically, creating the
// directory with mode 0700: the state goes to a temporary file in the same
// directory, which is synced and renamed over the old file, then the
// directory is synced so the rename survives a crash. A failure at any
// step up to the rename (typically a full disk, ENOSPC) leaves the old
// file untouched and no temporary file behind, and the error names the
// state file and the cause, for the operator who reads it in ipvsctl's
// answer or the log.
func SaveState(path string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	if err := writeAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("%s: %w", path, cause(err))
	}
	return nil
}

// writeAtomic replaces path with data, as SaveState describes.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	// tmpfs and most file systems report ENOSPC at write; some (NFS,
	// delayed allocation) only at sync or close, so both are checked.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	// Best effort: the new file is in place, so an error here must not
	// make the caller undo a change the file already records (some file
	// systems refuse fsync on a directory).
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// cause strips the operation and the temporary file's name from a file
// system error ("write /var/lib/lbd/.runtime.json.123: no space left on
// device"), which would only confuse: the caller names the state file.
// The errno stays wrapped for errors.Is.
func cause(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return pe.Err
	case errors.As(err, &le):
		return le.Err
	}
	return err
}
