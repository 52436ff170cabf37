package conf

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/lbd-project/lbd/internal/safefile"
)

// MaxClientFileSize bounds the file LoadClientFile reads.
const MaxClientFileSize = 64 << 20

// LoadClientFile is Load for a path named by a client of the control
// socket, which the daemon reads as root on the client's behalf. It reads
// only a regular file of at most MaxClientFileSize, not through a symbolic
// link (in the last component), and never opens anything else: a FIFO
// would block the daemon and opening a device can have effects of its own
// (/dev/watchdog). Its errors name the file and the first problem's
// position but carry none of the file's text, so that a client cannot read
// a file such as /etc/shadow through them; `lbd -t -f FILE`, run by someone
// who may read the file, shows the details.
func LoadClientFile(path string) (*Config, error) {
	data, err := readClientFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: %w", err)
	}
	cfg, err := Parse(path, data)
	var list ErrorList
	if errors.As(err, &list) {
		problems := "1 problem"
		if len(list) > 1 {
			problems = strconv.Itoa(len(list)) + " problems"
		}
		return nil, ErrorList{{Pos: list[0].Pos, Msg: fmt.Sprintf(
			"not a valid lbd configuration (%s); lbd does not send the text of a file it reads for a client: run `lbd -t -f %s` to see the details",
			problems, path)}}
	}
	return cfg, err
}

// readClientFile reads path as LoadClientFile describes (package
// safefile), refusing one that is larger than MaxClientFileSize.
func readClientFile(path string) ([]byte, error) {
	data, err := safefile.ReadPrefix(path, MaxClientFileSize+1)
	if err != nil {
		if errors.Is(err, safefile.ErrNotRegular) {
			err = fmt.Errorf("%w; lbd reads only regular files for a client", err)
		}
		return nil, err
	}
	if len(data) > MaxClientFileSize {
		return nil, fmt.Errorf("%s is larger than %d MiB; lbd does not read it for a client", path, MaxClientFileSize>>20)
	}
	return data, nil
}
