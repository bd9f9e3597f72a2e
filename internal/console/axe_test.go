package console_test

import (
	"encoding/json"
	"os"
	"strings"
	"sync"
)

// axe-core (testdata/axe, MPL-2.0, from npm) checks the page against WCAG
// 2.2 A and AA. It is injected through the DevTools protocol, which the
// page's CSP does not govern; the console itself never loads it.

var (
	axeOnce   sync.Once
	axeSource string
)

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axe fails the test for every violation axe-core finds on the page as it
// is now, naming the page state (what).
func (tb *tab) axe(what string) {
	tb.t.Helper()
	for _, v := range tb.axeViolations() {
		tb.t.Errorf("axe (%s): %s [%s] %s\n\t%s", what, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// axeViolations runs axe-core on the page as it is now.
func (tb *tab) axeViolations() []axeViolation {
	tb.t.Helper()
	axeOnce.Do(func() {
		b, err := os.ReadFile("testdata/axe/axe.min.js")
		if err != nil {
			tb.t.Fatalf("axe-core: %v", err)
		}
		axeSource = string(b)
	})
	var loaded bool
	tb.eval(`typeof window.axe === "object"`, &loaded)
	if !loaded {
		var ignored any
		tb.eval(axeSource+"\n;true", &ignored)
	}
	var raw string
	tb.eval(`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + (n.failureSummary || "").replace(/\s+/g, " "))}))))`, &raw)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		tb.t.Fatalf("axe result: %v", err)
	}
	return vs
}
