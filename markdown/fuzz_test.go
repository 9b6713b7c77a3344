package markdown

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"whitecross"
)

// FuzzRender: whatever a sender writes, the HTML the app and email show
// runs nothing and loads nothing — no script, style, iframe, object or
// img element, no on* event attribute, no href/src that is not http(s) or
// mailto — and the plain text of a body never panics. The seeds are the
// classic escapes; `go test` runs them, `-fuzz=FuzzRender` explores.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{
		"**hi** <script>alert(1)</script>",
		"<div onclick=x>block</div>\n\ntext",
		"[x](javascript:alert(1)) [y](data:text/html,hi) [m](mailto:a@b.c)",
		"![a](https://e.org/p.png \"t\" onerror=alert(1))",
		"[a](<java\tscript:alert(1)>)",
		"<img src=x onerror=alert(1)>",
		"`<script>` and ```\n<script>\n```",
		"| a |\n|---|\n| <svg onload=alert(1)> |",
		"[x](JaVaScRiPt&#58;alert(1))",
		"<a href=\"javascript:alert(1)\">x</a>",
		"https://example.org/\"onmouseover=\"alert(1)",
		"> quote\n- item\n1. one\n\n~~s~~ *e* __b__",
		"[a]: javascript:alert(1)\n\n[b][a]",
		"&lt;script&gt; &#x3C;script&#x3E;",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, format := range []whitecross.BodyFormat{whitecross.BodyMarkdown, whitecross.BodyPlain} {
			if err := inert(AppHTML(body, format)); err != nil {
				t.Fatalf("AppHTML(%q, %s): %v", body, format, err)
			}
			if err := inert(EmailHTML(body, format)); err != nil {
				t.Fatalf("EmailHTML(%q, %s): %v", body, format, err)
			}
			_ = Text(body, format)
		}
	})
}

// inert parses s as HTML, as a browser would, and reports the first thing
// in it that could run code or load a resource.
func inert(s string) error {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return nil // io.EOF: the tokenizer reads a string, nothing else fails
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "script", "style", "iframe", "object", "embed", "img", "svg", "math", "form", "base", "link", "meta":
				return fmt.Errorf("element <%s> in %q", tok.Data, s)
			}
			for _, a := range tok.Attr {
				if err := inertAttr(a); err != nil {
					return fmt.Errorf("<%s>: %v in %q", tok.Data, err, s)
				}
			}
		}
	}
}

func inertAttr(a html.Attribute) error {
	key := strings.ToLower(a.Key)
	switch {
	case strings.HasPrefix(key, "on"):
		return fmt.Errorf("event attribute %s", a.Key)
	case key == "style" || key == "srcset" || key == "formaction":
		return fmt.Errorf("attribute %s", a.Key)
	case key == "href" || key == "src":
		// A browser drops tabs and newlines in a URL before reading its
		// scheme; so does this check.
		u, err := url.Parse(strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, strings.TrimSpace(a.Val)))
		if err != nil {
			return fmt.Errorf("%s=%q is no URL", a.Key, a.Val)
		}
		switch strings.ToLower(u.Scheme) {
		case "", "http", "https", "mailto":
		default:
			return fmt.Errorf("%s=%q", a.Key, a.Val)
		}
	}
	return nil
}

// TestInertCatches: the fuzz property can fail — each of these would.
func TestInertCatches(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"<script>x</script>", "<p onclick=x>", "<a href=\"java\tscript:x\">", "<img src=x>",
		"<a href=\"data:text/html,x\">", "<p style=\"x\">", "<a href=\"%zz\">",
	} {
		if inert(bad) == nil {
			t.Errorf("inert(%q) = nil, want an error", bad)
		}
	}
	if err := inert(`<p><a href="https://e.org/" rel="nofollow">x</a> <a href="/rel">y</a></p>`); err != nil {
		t.Errorf("safe HTML refused: %v", err)
	}
}
