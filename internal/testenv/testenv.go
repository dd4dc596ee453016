// Package testenv finds what optional tests need outside the repository: the Python reference
// environment (real torch, transformers and peft) for live interop checks, and real pretrained
// checkpoints in the model cache. Each lookup skips the test with a message saying how to get the
// missing piece, so `go test ./...` passes on a machine with neither.
package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// VenvVar names the environment variable that points at the reference virtual environment made by
// integration/pyref/setup.sh. Live checks run only when it is set.
const VenvVar = "SPAGO_PEFT_VENV"

// ModelsVar names the environment variable that overrides the model cache directory
// (default ~/.cache/spago-peft/models), filled by integration/pyref/fetch-models.sh.
const ModelsVar = "SPAGO_PEFT_MODELS"

// Python returns the reference environment's python interpreter, or skips t when SPAGO_PEFT_VENV
// is unset or holds no interpreter.
func Python(t testing.TB) string {
	t.Helper()
	venv := os.Getenv(VenvVar)
	if venv == "" {
		t.Skipf("live check: set %s to the virtual environment made by integration/pyref/setup.sh", VenvVar)
	}
	py := filepath.Join(venv, "bin", "python")
	if _, err := os.Stat(py); err != nil {
		t.Skipf("live check: %s=%s has no bin/python (run integration/pyref/setup.sh)", VenvVar, venv)
	}
	return py
}

// ModelsDir returns the model cache directory, whether or not it exists.
func ModelsDir() string {
	if d := os.Getenv(ModelsVar); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "spago-peft", "models")
	}
	return filepath.Join(home, ".cache", "spago-peft", "models")
}

// Model returns the directory of the cached checkpoint name (for example "all-MiniLM-L6-v2"), or
// skips t when it has not been fetched.
func Model(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(ModelsDir(), name)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Skipf("needs the checkpoint %s in %s: run integration/pyref/fetch-models.sh", name, ModelsDir())
	}
	return dir
}
