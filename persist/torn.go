package persist

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"
)

// removeTornFiles removes the value-log (.vlog) and memtable (.mem) files
// of dir that are empty. Badger creates such a file empty, sizes it and
// writes its header at once, and creates one of each at every Open; a
// process killed in between leaves it empty, and Badger then refuses to
// open the directory ever again ("Open existing file ... Create a new
// file"). An empty file holds no record, so removing it loses nothing.
// Call it with the directory locked.
func removeTornFiles(dir string, log zerolog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !(strings.HasSuffix(name, ".vlog") || strings.HasSuffix(name, ".mem")) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("remove empty %s: %w", name, err)
		}
		log.Warn().Str("file", name).Msg("removed an empty file left by a crash")
	}
	return nil
}
