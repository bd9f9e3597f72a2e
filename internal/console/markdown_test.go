package console_test

import (
	"encoding/json"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestMarkdown: markdown.js, run in the browser, makes the subset's
// elements and nothing else: HTML, script, event attributes and links
// other than http(s) come out as text (the expected markup is the DOM's
// serialisation, so "&lt;" is a "<" in a text node).
func TestMarkdown(t *testing.T) {
	engine := dbtest.Engines(t)[0]
	s := newSite(t, dbtest.Open(t, engine), true, nil)
	tb := s.open("light", desktop)
	tb.visit("/signin")
	tb.waitFor(`!!document.querySelector("script[type=module]")`, "the shell")
	for _, c := range []struct{ name, in, want string }{
		{"paragraphs", "one\ntwo\n\nthree", "<p>one\ntwo</p><p>three</p>"},
		{"emphasis", "*a* _b_ **c** snake_case_name", "<p><em>a</em> <em>b</em> <strong>c</strong> snake_case_name</p>"},
		{"code", "run `rm -rf <x>` **now**", "<p>run <code>rm -rf &lt;x&gt;</code> <strong>now</strong></p>"},
		{"fence", "```\n<b>x</b>\n*y*\n```", "<pre><code>&lt;b&gt;x&lt;/b&gt;\n*y*</code></pre>"},
		{"headings", "# Top\n### Third", "<h2>Top</h2><h4>Third</h4>"},
		{"lists", "- a\n- *b*\n\n1. one\n2. two", "<ul><li>a</li><li><em>b</em></li></ul><ol><li>one</li><li>two</li></ol>"},
		{"link", "[docs](https://example.com/a?b=1)", `<p><a href="https://example.com/a?b=1" rel="noopener noreferrer">docs</a></p>`},
		{"script tag", "<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"event attribute", `<img src=x onerror="alert(1)">`, `<p>&lt;img src=x onerror="alert(1)"&gt;</p>`},
		{"javascript link", "[click](javascript:alert(1))", "<p>[click](javascript:alert(1))</p>"},
		{"data link", "[x](data:text/html,<script>alert(1)</script>)", "<p>[x](data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;)</p>"},
		{"relative link", "[x](/api/v1/user)", "<p>[x](/api/v1/user)</p>"},
		{"html in link text", `[<b onmouseover="alert(1)">x</b>](https://example.com)`, `<p><a href="https://example.com/" rel="noopener noreferrer">&lt;b onmouseover="alert(1)"&gt;x&lt;/b&gt;</a></p>`},
		{"quote in url", `[x](https://example.com/"onclick="alert(1))`, `<p><a href="https://example.com/%22onclick=%22alert(1" rel="noopener noreferrer">x</a>)</p>`},
		{"html heading", "# <i>x</i>", "<h2>&lt;i&gt;x&lt;/i&gt;</h2>"},
		{"unclosed", "**a *b `c [d](", "<p>**a *b `c [d](</p>"},
	} {
		in, _ := json.Marshal(c.in)
		var got string
		tb.eval(`(async () => {
			const m = await import(new URL("markdown.js", document.querySelector("script[type=module]").src));
			const box = document.createElement("div");
			box.append(...m.markdown(`+string(in)+`, { headingBase: 2 }));
			return box.innerHTML; })()`, &got)
		if got != c.want {
			t.Errorf("%s: markdown(%q)\n got %s\nwant %s", c.name, c.in, got, c.want)
		}
	}
}

// TestMarkdownShown: a Markdown message published in the console (with
// its media type, through the API) and a repository's Markdown
// description are shown with their emphasis and http(s) links, and the
// markup and javascript: link in them as text; both pass axe-core in the
// light and the dark theme.
func TestMarkdownShown(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		s := newSuperuserSite(t, store)
		s.pushImage("admin", adminPassword, "admin/md", "v1", "a")
		hostile := " [x](javascript:alert(5)) " + xss
		s.mustJSON("PUT", "/api/v1/repository/admin/md", map[string]any{"description": "# About\n**Fast** images, see [docs](https://example.com/docs)." + hostile}, nil)
		tb := s.open("light", desktop)
		tb.signIn("admin", adminPassword)
		tb.visit("/superuser/messages")
		tb.settle(".results table")
		tb.run(chromedp.Click(`//button[text()="Publish message"]`, chromedp.BySearch),
			chromedp.SetValue(`dialog textarea`, "Read the **notes** at [status](https://status.example.com)."+hostile, chromedp.ByQuery),
			chromedp.SetValue(`//dialog//label[text()="Format"]/following-sibling::select`, "text/markdown", chromedp.BySearch),
			chromedp.Click(`//dialog//button[text()="Publish"]`, chromedp.BySearch))
		tb.waitFor(`!!document.querySelector(".banners strong")`, "the Markdown banner")
		var list struct {
			Messages []struct {
				MediaType string `json:"media_type"`
			} `json:"messages"`
		}
		s.mustJSON("GET", "/api/v1/messages", nil, &list)
		if len(list.Messages) != 1 || list.Messages[0].MediaType != "text/markdown" {
			t.Fatalf("messages through the API: %+v", list.Messages)
		}
		for _, scheme := range []string{"light", "dark"} {
			if scheme == "dark" {
				tb = s.open("dark", phone)
				tb.signIn("admin", adminPassword)
			}
			tb.visit("/repository/admin/md")
			tb.settle(".results table")
			tb.waitText("main .description h2", "About")
			tb.waitText(".banners strong", "notes")
			for sel, want := range map[string]int{
				`.banners a[href="https://status.example.com/"][rel~=noopener]`:                       1,
				`main .description a[href="https://example.com/docs"]`:                                1,
				`.banners a[href^=javascript], main .description a[href^=javascript]`:                 0,
				`.banners img, .banners script, main .description img, main .description script`:      0,
				`.banners [onerror], main .description [onerror], .banners [onclick], main [onclick]`: 0,
			} {
				if n := tb.count(sel); n != want {
					t.Errorf("%s: %d × %s, want %d", scheme, n, sel, want)
				}
			}
			tb.waitText("main .description", "[x](javascript:alert(5)) "+xss)
			tb.waitText(".banners", "[x](javascript:alert(5)) "+xss)
			tb.axe(scheme + " Markdown description and banner")
		}
	})
}
