package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every method: the loss falls in pre-training and fine-tuning, the base stays bit-identical, the
// merged model agrees, and both reloads (spago's gob, PEFT's format) give identical outputs.
func TestExperiment(t *testing.T) {
	for method := range configs {
		t.Run(method, func(t *testing.T) {
			var out bytes.Buffer
			r, err := experiment(options{method: method, steps: 100, seed: 1}, &out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !(r.preLast < r.preFirst/4) || !(r.fineLast < r.fineFirst/4) {
				t.Errorf("loss did not fall enough: pre-training %.4f → %.4f, fine-tuning %.4f → %.4f", r.preFirst, r.preLast, r.fineFirst, r.fineLast)
			}
			if !r.baseUnchanged {
				t.Error("fine-tuning changed the base weights")
			}
			if r.mergedDiff > 1e-5 {
				t.Errorf("merged outputs differ by %g", r.mergedDiff)
			}
			if !r.gobSame || !r.peftSame {
				t.Errorf("reloaded outputs differ: gob %v, PEFT format %v", !r.gobSame, !r.peftSame)
			}
			if r.trainable <= 0 || r.trainable >= r.total {
				t.Errorf("%d trainable of %d", r.trainable, r.total)
			}
			for _, want := range []string{"trainable:", "frozen:     base weights unchanged bit for bit: true", "outputs identical: true"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

func TestRunFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--method", "lora", "--steps", "5", "--out", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, name := range []string{"base.gob", "model.gob", "adapter/adapter_config.json", "adapter/adapter_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("--out kept no %s: %v", name, err)
		}
	}
	for _, args := range [][]string{{"--method", "dora"}, {"--steps", "0"}, {"extra"}, {"--nope"}} {
		stderr.Reset()
		if code := run(args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, message %q; want 2 and a message", args, code, stderr.String())
		}
	}
}
