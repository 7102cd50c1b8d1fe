//go:build !linux

package loadgen

import (
	"errors"
	"os/exec"
	"time"
)

const procSupported = false

var errNoProc = errors.New("loadgen: process figures need Linux's /proc")

func procCPU(pid int) (time.Duration, error)       { return 0, errNoProc }
func procMem(pid int) (rss, peak int64, err error) { return 0, 0, errNoProc }
func loadAverage() float64                         { return -1 }
func selfCPU() time.Duration                       { return 0 }
func dieWithParent(cmd *exec.Cmd)                  {}
