//go:build !unix

package main

import "time"

// processCPUTime reports that the CPU time of the process is not measured on this system.
func processCPUTime() (time.Duration, bool) { return 0, false }
