package finetune

import (
	"context"
	"testing"
)

func TestRunDefault(t *testing.T) {
	m := Method{Kind: KindHRA}
	adapter, full, err := m.Adapter()
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Job{Adapter: adapter, FullFineTune: full, Epochs: 3, Seed: 1,
		OnLoad: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: acc %.3f loss %.3f train %.3f, %d/%d/%d params, %d steps, %v, step %v, heap %d MB",
		res.Method, res.Dev.Accuracy, res.Dev.Loss, res.FinalTrainLoss, res.Trainable, res.Base, res.Total, res.Steps, res.TrainTime, res.StepTime, res.PeakHeapBytes>>20)
}
