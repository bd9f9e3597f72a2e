package main

import (
	"slices"
	"testing"
	"time"
)

func TestBackgroundWorkWait(t *testing.T) {
	tests := []struct {
		name string
		hang []string // names whose goroutine never returns within the grace
		want []string
	}{
		{"all return", nil, nil},
		{"one hangs", []string{"build workers"}, []string{"build workers"}},
		{"two hang", []string{"jobs", "application"}, []string{"application", "jobs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			defer close(release)
			w := newBackgroundWork()
			for _, name := range []string{"jobs", "application", "build workers"} {
				hangs := slices.Contains(tc.hang, name)
				w.Go(name, func() {
					if hangs {
						<-release
					}
				})
			}
			got := w.Wait(200 * time.Millisecond)
			if !slices.Equal(got, tc.want) {
				t.Errorf("still running = %v, want %v", got, tc.want)
			}
		})
	}
}
