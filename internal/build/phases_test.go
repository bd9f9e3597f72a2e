package build_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/build"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// phases records the phases a worker reported, in order.
type phases struct {
	mu   sync.Mutex
	seen []string
}

func (p *phases) BuildPhase(phase string, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if took < 0 {
		phase += " (negative duration)"
	}
	p.seen = append(p.seen, phase)
}

// TestPhaseObserver: each phase a build passes on a worker is reported
// once, when it ends; the last one ends with the build, however it ends.
func TestPhaseObserver(t *testing.T) {
	const dockerfile = "FROM scratch\nCOPY . /\n"
	tests := []struct {
		name string
		run  func(j *build.Job) error
		want []string
	}{
		{"a build that completes", func(j *build.Job) error {
			if err := j.Phase(wharf.PhaseBuilding); err != nil {
				return err
			}
			return j.Phase(wharf.PhasePushing)
		}, []string{wharf.PhaseScheduled, wharf.PhaseUnpacking, wharf.PhasePulling, wharf.PhaseBuilding, wharf.PhasePushing}},
		{"a build that fails while pulling", func(*build.Job) error { return errors.New("no such base image") },
			[]string{wharf.PhaseScheduled, wharf.PhaseUnpacking, wharf.PhasePulling}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, store *db.DB) {
				wf := newWorkerFixture(t, store)
				obs := &phases{}
				wf.w.Phases = obs
				b := wf.queue(build.Request{DockerTags: []string{"latest"}}, tarGz(t, "Dockerfile", dockerfile))
				wf.exec.run = func(_ context.Context, j *build.Job) error { return tt.run(j) }
				wf.w.RunBuild(context.Background(), b)
				if !slices.Equal(obs.seen, tt.want) {
					t.Errorf("phases reported %q, want %q", obs.seen, tt.want)
				}
			})
		})
	}
}
