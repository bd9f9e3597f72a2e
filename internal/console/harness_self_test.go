package console_test

import (
	"strings"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestHarnessCatches proves the checks every page gets can fail: axe-core
// reports an image without a text alternative, and a script the CSP
// refuses is recorded as a browser error (which fails a test).
func TestHarnessCatches(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSite(t, store, true, nil)
		tb := s.open("light", desktop)
		tb.visit("/signin")
		var ignored any
		tb.eval(`document.querySelector("main").append(Object.assign(document.createElement("img"), {src: document.querySelector("link[rel=icon]").href})); true`, &ignored)
		found := false
		for _, v := range tb.axeViolations() {
			found = found || v.ID == "image-alt"
		}
		if !found {
			t.Error("axe-core did not report an image without alt text")
		}
		tb.eval(`document.body.append(Object.assign(document.createElement("script"), {textContent: "window.injected = 1"})); true`, &ignored)
		var injected bool
		tb.waitFor(`true`, "a turn of the event loop")
		tb.eval(`window.injected === 1`, &injected)
		if injected {
			t.Error("an inline script ran despite the CSP")
		}
		tb.waitForError("Content Security Policy")
	})
}

// waitForError waits until the tab recorded a browser error containing
// want, and forgets the errors (they were expected).
func (tb *tab) waitForError(want string) {
	tb.t.Helper()
	for range 100 {
		tb.mu.Lock()
		for _, e := range tb.errs {
			if strings.Contains(e, want) {
				tb.errs = nil
				tb.mu.Unlock()
				return
			}
		}
		tb.mu.Unlock()
		tb.waitFor(`new Promise(r => setTimeout(() => r(true), 50))`, "50 ms")
	}
	tb.t.Errorf("no browser error containing %q was recorded", want)
}
