package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// TestRenderBody: body_html keeps formatting and links, and nothing that
// runs code, loads a resource or escapes the message.
func TestRenderBody(t *testing.T) {
	t.Parallel()
	r := newBodyRenderer()
	for _, c := range []struct {
		name, body, want string
	}{
		{"inline raw HTML is dropped", "**hi** <script>alert(1)</script>", "<p><strong>hi</strong> alert(1)</p>\n"},
		{"an HTML block is dropped", "<div onclick=x>block</div>\n\ntext", "\n<p>text</p>\n"},
		{"line breaks stay", "line one\nline two", "<p>line one<br>\nline two</p>\n"},
		{"links are marked", "see https://example.org/x and [form](https://example.org/y)",
			`<p>see <a href="https://example.org/x" rel="nofollow noreferrer">https://example.org/x</a> and ` +
				`<a href="https://example.org/y" rel="nofollow noreferrer">form</a></p>` + "\n"},
		{"images become links", "![chart](https://example.org/c.png) ![](https://example.org/p.gif)",
			`<p><a href="https://example.org/c.png" rel="nofollow noreferrer">chart</a> ` +
				`<a href="https://example.org/p.gif" rel="nofollow noreferrer">https://example.org/p.gif</a></p>` + "\n"},
		{"script URLs lose their link", "[x](javascript:alert(1)) [y](data:text/html,hi) [m](mailto:nurse@example.org)",
			`<p>x y <a href="mailto:nurse@example.org" rel="nofollow noreferrer">m</a></p>` + "\n"},
		{"tables and strikethrough", "| a |\n|---|\n| ~~1~~ |",
			"<table>\n<thead>\n<tr>\n<th>a</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td><del>1</del></td>\n</tr>\n</tbody>\n</table>\n"},
	} {
		require.Equal(t, c.want, r.render(c.body, whitecross.BodyMarkdown), c.name)
	}

	// Plain text is escaped, never interpreted.
	require.Equal(t, "a<br>\nb &lt;i&gt; **c** &amp;amp;", r.render("a\r\nb <i> **c** &amp;", whitecross.BodyPlain))
	require.Equal(t, "&lt;script&gt;", r.render("<script>", ""))
}
