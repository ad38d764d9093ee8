package main

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestRunStepsKeepsGoing: a figure that fails is noted and the next ones
// still run and keep their figures; a figure that leaves containers behind
// stops the run; so does an interrupted context.
func TestRunStepsKeepsGoing(t *testing.T) {
	var ran []string
	step := func(name string, err error) figureStep {
		return figureStep{name, func(context.Context, *env) ([]*Figure, error) {
			ran = append(ran, name)
			return []*Figure{{Key: name}}, err
		}}
	}
	none := func(context.Context) (int, error) { return 0, nil }
	res := &Results{}
	err := runSteps(context.Background(), nil, res, []figureStep{step("a", nil), step("net", errors.New("sink stalled")), step("scale", nil)}, none)
	if err == nil || !strings.Contains(err.Error(), "net: sink stalled") {
		t.Fatalf("error %v, want the net figure's", err)
	}
	if strings.Join(ran, ",") != "a,net,scale" || len(res.Figures) != 3 {
		t.Fatalf("ran %v, %d figures kept; want a,net,scale and 3", ran, len(res.Figures))
	}
	if len(res.Notes) != 1 || !strings.Contains(res.Notes[0], `"net" failed`) {
		t.Fatalf("notes %q", res.Notes)
	}

	ran, res = nil, &Results{}
	left := func(context.Context) (int, error) { return 2, nil }
	if err := runSteps(context.Background(), nil, res, []figureStep{step("a", nil), step("b", nil)}, left); err == nil || strings.Join(ran, ",") != "a" {
		t.Fatalf("leftovers: ran %v, error %v; want a only and an error", ran, err)
	}

	ran, res = nil, &Results{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := runSteps(ctx, nil, res, []figureStep{step("a", nil)}, none); !errors.Is(err, context.Canceled) || len(ran) != 0 {
		t.Fatalf("interrupted: ran %v, error %v", ran, err)
	}
}
