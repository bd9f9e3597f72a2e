package console_test

// The browser harness: wharf as app.New assembles it, served by httptest
// over a dbtest database, and Debian's headless Chromium driven through
// the DevTools protocol (chromedp). Every page a test opens fails the test
// on a console error, an uncaught exception, a CSP violation or a
// JavaScript dialog (what a successful XSS would open); a failed test
// keeps a screenshot under $WHARF_SCREENSHOTS (default the test's temp
// directory, named in the failure).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/app"
	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/requestlog"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
)

// adminPassword is the password of the superuser "admin".
const adminPassword = "adminpass1"

// chromium returns the browser to drive: $WHARF_CHROMIUM, else Debian's.
func chromium(t testing.TB) string {
	for _, p := range []string{os.Getenv("WHARF_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	t.Fatal("no Chromium: install Debian's chromium (scripts/install-test-tools.sh) or set WHARF_CHROMIUM")
	return ""
}

var (
	browserOnce   sync.Once
	browserCtx    context.Context
	browserCancel context.CancelFunc
)

// browser returns the context of one Chromium shared by the package's
// tests (started on first use).
func browser(t testing.TB) context.Context {
	browserOnce.Do(func() {
		ctx, cancel, err := startChromium(chromium(t))
		if err != nil {
			t.Fatalf("start Chromium: %v", err)
		}
		browserCtx, browserCancel = ctx, cancel
	})
	if browserCtx == nil {
		t.Fatal("Chromium did not start")
	}
	return browserCtx
}

// startChromium starts a headless Chromium and returns its context.
func startChromium(path string) (context.Context, context.CancelFunc, error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 800), chromedp.Flag("lang", "en-GB"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(func(format string, args ...any) {
		// chromedp reports DOM events it does not model (the top layer
		// of <dialog>s) as errors; they are not the page's.
		if !strings.Contains(format, "unhandled") {
			log.Printf(format, args...)
		}
	}))
	stop := func() { cancel(); cancelAlloc() }
	if err := chromedp.Run(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	return ctx, stop, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browserCancel != nil {
		browserCancel()
	}
	os.Exit(code)
}

// site is one wharf served by httptest, with the superuser "admin".
type site struct {
	t     testing.TB
	url   string
	admin string // an OAuth token of admin with every scope
	App   *app.App
}

// newSite serves wharf over store; tweak (may be nil) adjusts the
// configuration. With initialize, admin is created first.
func newSite(t testing.TB, store *db.DB, initialize bool, tweak func(*config.Config)) *site {
	t.Helper()
	blobs, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	cfg := config.Default()
	cfg.SuperUsers = []string{"admin"}
	cfg.SecretKey = "console-test-secret"
	cfg.ServerHostname = srv.Listener.Addr().String()
	if tweak != nil {
		tweak(&cfg)
	}
	a, err := app.New(&cfg, store, blobs, requestlog.NewOutput(io.Discard, true))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.Handler
	srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.Run(ctx); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
	})
	s := &site{t: t, url: srv.URL, App: a}
	if initialize {
		var out struct {
			Token string `json:"access_token"`
		}
		s.mustJSON("POST", "/api/v1/user/initialize", map[string]any{"username": "admin", "password": adminPassword,
			"email": "admin@example.com", "access_token": true}, &out)
		s.admin = out.Token
	}
	return s
}

// call sends an API request as admin (no token before initialize) and
// returns the status and body.
func (s *site) call(method, path string, body any) (int, []byte) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if s.admin != "" {
		req.Header.Set("Authorization", "Bearer "+s.admin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// mustJSON is call that fails the test unless the answer is 2xx, and
// decodes it into out (may be nil).
func (s *site) mustJSON(method, path string, body, out any) {
	s.t.Helper()
	status, b := s.call(method, path, body)
	if status/100 != 2 {
		s.t.Fatalf("%s %s → %d %s", method, path, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// tab is one browser tab on a site.
type tab struct {
	t    testing.TB
	site *site
	ctx  context.Context
	mu   sync.Mutex
	errs []string
}

// Widths the console must be usable at.
var (
	desktop = [2]int64{1280, 800}
	phone   = [2]int64{390, 844}
)

// open starts a tab (tabs share the browser's cookies: see openApart) with the colour scheme
// the system prefers ("light" or "dark") and the viewport size.
func (s *site) open(scheme string, size [2]int64) *tab {
	s.t.Helper()
	return s.openIn(browser(s.t), scheme, size)
}

// openApart is open in a Chromium of its own, whose cookies are its own:
// a second user signed in beside the first. (Chromium refuses new tabs in
// a separate browser context when headless.)
func (s *site) openApart(scheme string, size [2]int64) *tab {
	s.t.Helper()
	ctx, stop, err := startChromium(chromium(s.t))
	if err != nil {
		s.t.Fatalf("start Chromium: %v", err)
	}
	s.t.Cleanup(stop)
	return s.openIn(ctx, scheme, size)
}

func (s *site) openIn(parent context.Context, scheme string, size [2]int64) *tab {
	t := s.t
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent)
	tb := &tab{t: t, site: s, ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			tb.fail("uncaught exception: " + e.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError || e.Type == runtime.APITypeAssert {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value)+a.Description)
				}
				tb.fail("console." + string(e.Type) + ": " + strings.Join(parts, " "))
			}
		case *cdplog.EventEntryAdded:
			entry := e.Entry
			// API answers of 4xx are part of flows (a refused action shows
			// its message); a missing asset, a CSP refusal or any other
			// error the browser logs is a failure.
			if entry.Level == cdplog.LevelError && !(entry.Source == cdplog.SourceNetwork && strings.Contains(entry.URL, "/api/")) {
				tb.fail(fmt.Sprintf("browser %s error: %s %s", entry.Source, entry.Text, entry.URL))
			}
		case *page.EventJavascriptDialogOpening:
			tb.fail("a JavaScript dialog opened: " + e.Message)
			go chromedp.Run(ctx, page.HandleJavaScriptDialog(false))
		}
	})
	// Cookies are per host, not per port: a session cookie an earlier
	// test's site set must not reach this one.
	err := chromedp.Run(ctx, network.ClearBrowserCookies(), cdplog.Enable(), runtime.Enable(), page.Enable(),
		emulation.SetDeviceMetricsOverride(size[0], size[1], 1, size[0] < 600),
		emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
	if err != nil {
		t.Fatalf("open tab: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			tb.screenshot()
		}
		cancel()
		tb.mu.Lock()
		defer tb.mu.Unlock()
		for _, e := range tb.errs {
			t.Errorf("browser: %s", e)
		}
	})
	return tb
}

func (tb *tab) fail(msg string) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.errs = append(tb.errs, msg)
}

// screenshot keeps the page as it is, for a failed test, and logs its text.
func (tb *tab) screenshot() {
	var png []byte
	ctx, cancel := context.WithTimeout(tb.ctx, 10*time.Second)
	defer cancel()
	var text string
	if err := chromedp.Run(ctx, chromedp.Evaluate(`location.href + "\n" + document.body.innerText.slice(0, 3000)`, &text)); err == nil {
		tb.t.Logf("the failed page: %s", text)
	}
	if err := chromedp.Run(ctx, page.BringToFront(), chromedp.CaptureScreenshot(&png)); err != nil {
		tb.t.Logf("screenshot: %v", err)
		return
	}
	dir := os.Getenv("WHARF_SCREENSHOTS")
	if dir == "" {
		dir = os.TempDir()
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(tb.t.Name())+".png")
	if err := os.WriteFile(name, png, 0o644); err != nil {
		tb.t.Logf("screenshot: %v", err)
		return
	}
	tb.t.Logf("screenshot of the failed page: %s", name)
}

// run performs actions with a time limit, failing the test on an error.
func (tb *tab) run(actions ...chromedp.Action) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	// Input goes to the tab in front: a test with two tabs (two users)
	// brings the one it acts in forward.
	if err := chromedp.Run(ctx, append([]chromedp.Action{page.BringToFront()}, actions...)...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// visit loads path and waits for the page's h1.
func (tb *tab) visit(path string) {
	tb.t.Helper()
	tb.run(chromedp.Navigate(tb.site.url+path), chromedp.WaitVisible("main h1", chromedp.ByQuery))
}

// signIn signs in through the sign-in page.
func (tb *tab) signIn(user, password string) {
	tb.t.Helper()
	tb.visit("/signin")
	tb.run(chromedp.SendKeys(`input[name=username]`, user, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=password]`, password, chromedp.ByQuery),
		chromedp.Click(`form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`nav.sidenav`, chromedp.ByQuery))
}

// text returns the text of the first element sel matches.
func (tb *tab) text(sel string) string {
	tb.t.Helper()
	var s string
	tb.run(chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// waitText waits until the element sel matches contains want.
func (tb *tab) waitText(sel, want string) {
	tb.t.Helper()
	tb.waitFor(fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want),
		fmt.Sprintf("%s to contain %q", sel, want))
}

// waitFor waits until the JavaScript expression js is true. (chromedp's
// Poll builds its predicate with new Function, which the console's CSP
// refuses; Runtime.evaluate is not subject to it.)
func (tb *tab) waitFor(js, what string) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		tb.eval(js, &ok)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("waited 15 s for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eval evaluates a JavaScript expression into out.
func (tb *tab) eval(js string, out any) {
	tb.t.Helper()
	tb.run(chromedp.Evaluate(js, out, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
		return p.WithAwaitPromise(true)
	}))
}

// count returns how many elements sel matches.
func (tb *tab) count(sel string) int {
	tb.t.Helper()
	var n int
	tb.eval(fmt.Sprintf(`document.querySelectorAll(%q).length`, sel), &n)
	return n
}

// nodes is a chromedp.Nodes alias for queries that fill node lists.
type nodes = []*cdp.Node
