//go:build unix

// Package clitest runs an example command as a user would, for the examples' hostile-input
// tests: the test binary itself, re-executed so that it runs main (see AsMain), in its own
// working directory, as an unprivileged user when the tests run as root (root writes into
// read-only directories), with its exit status, stdout and stderr.
package clitest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// asMainEnv makes the test binary run main instead of the tests.
const asMainEnv = "SPAGO_PEFT_CLITEST_AS_MAIN"

// Nobody is the user commands run as when the tests run as root.
const Nobody = 65534

// AsMain is the body of a TestMain: it runs main when the binary was started by Command.Run,
// and the tests otherwise.
func AsMain(m *testing.M, main func()) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// Env is a world-readable temporary directory holding a copy of the test binary; Root is where
// cases make their working directories.
type Env struct {
	Root, bin string
}

// NewEnv copies the running test binary into a new world-readable directory, removed (with
// whatever the cases made read-only in it) at the end of the test.
func NewEnv(t *testing.T) *Env {
	t.Helper()
	root, err := os.MkdirTemp("", "clitest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(root)
	})
	e := &Env{Root: root, bin: filepath.Join(root, "command.test")}
	self, err := os.Executable()
	if err == nil {
		err = copyFile(self, e.bin)
	}
	if err == nil {
		err = errors.Join(os.Chmod(root, 0o755), os.Chmod(e.bin, 0o755))
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

// Command is one run of the command.
type Command struct {
	// Dir is the working directory; Args the arguments; Stdin the standard input.
	Dir   string
	Args  []string
	Stdin string
	// Env is added to a minimal environment (HOME and XDG_CACHE_HOME inside Env.Root).
	Env []string
	// InterruptAt, if set, sends SIGINT once a line of stderr contains it.
	InterruptAt string
}

// Result is what a run gave.
type Result struct {
	Code           int
	Stdout, Stderr string
}

// Run runs c with e's binary, as Nobody when the tests run as root, within two minutes.
func (e *Env) Run(t *testing.T, c Command) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.bin, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append([]string{asMainEnv + "=1", "HOME=" + e.Root, "XDG_CACHE_HOME=" + filepath.Join(e.Root, "cache"), "TERM=dumb"}, c.Env...)
	if os.Geteuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody}}
	}
	cmd.Stdin = strings.NewReader(c.Stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	var err error
	if c.InterruptAt == "" {
		cmd.Stderr = &stderr
		err = cmd.Run()
	} else {
		pipe, perr := cmd.StderrPipe()
		if perr == nil {
			perr = cmd.Start()
		}
		if perr != nil && os.Geteuid() == 0 && errors.Is(perr, syscall.EPERM) {
			t.Skipf("skipping: cannot run the command as user %d (%v)", Nobody, perr)
		}
		if perr != nil {
			t.Fatal(perr)
		}
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), c.InterruptAt) {
				if err := cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
		rest, _ := io.ReadAll(pipe)
		stderr.Write(rest)
		err = cmd.Wait()
	}
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil && os.Geteuid() == 0 && errors.Is(err, syscall.EPERM):
		t.Skipf("skipping: cannot run the command as user %d (%v)", Nobody, err)
	case err != nil:
		t.Fatal(err)
	}
	return Result{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
}

// GiveToNobody hands the tree under dir to Nobody when the tests run as root, so that the
// command, run as Nobody, owns what a user would own.
func GiveToNobody(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	err := filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, Nobody, Nobody)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Snapshot maps every entry under root to its mode and content (a link to its target), to show
// that a run left a directory byte for byte as it was.
func Snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		content := ""
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			content, err = os.Readlink(p)
		case d.Type().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			content = string(b)
		}
		out[p] = info.Mode().String() + " " + content
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// CheckFailure checks the stderr of a failed run: no stack trace, exactly one line starting with
// prefix (the error), last, containing want, and short.
func CheckFailure(t *testing.T, r Result, prefix, want string) {
	t.Helper()
	for _, bad := range []string{"goroutine ", "panic:", "fatal error:"} {
		if strings.Contains(r.Stderr, bad) {
			t.Errorf("stderr has %q:\n%s", bad, r.Stderr)
		}
	}
	var errLines []string
	for _, line := range strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n") {
		if strings.HasPrefix(line, prefix) {
			errLines = append(errLines, line)
		}
	}
	switch {
	case len(errLines) != 1:
		t.Errorf("want one error line starting %q, got %d:\n%s", prefix, len(errLines), r.Stderr)
	case !strings.HasSuffix(strings.TrimRight(r.Stderr, "\n"), errLines[0]):
		t.Errorf("the error line does not come last:\n%s", r.Stderr)
	case !strings.Contains(errLines[0], want):
		t.Errorf("error line\n%s\ndoes not contain\n%s", errLines[0], want)
	case len(errLines[0]) > 600:
		t.Errorf("error line of %d bytes", len(errLines[0]))
	}
}

// CheckOnlyLine is CheckFailure for a run that fails before any work: its error is all of
// stderr, one line.
func CheckOnlyLine(t *testing.T, r Result, prefix, want string) {
	t.Helper()
	CheckFailure(t, r, prefix, want)
	if strings.Count(r.Stderr, "\n") != 1 {
		t.Errorf("want the error line alone on stderr, got:\n%s", r.Stderr)
	}
}
