//go:build !linux

package main

// resetPeakRSS does nothing where the resident-set high-water mark cannot be reset.
func resetPeakRSS() {}

// peakRSS is unknown here.
func peakRSS() uint64 { return 0 }
