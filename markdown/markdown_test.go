package markdown

import (
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

// TestAppHTML: the app's body_html keeps formatting and links, and nothing
// that runs code, loads a resource or escapes the message.
func TestAppHTML(t *testing.T) {
	t.Parallel()
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
		require.Equal(t, c.want, AppHTML(c.body, whitecross.BodyMarkdown), c.name)
	}

	// Plain text is escaped, never interpreted.
	require.Equal(t, "a<br>\nb &lt;i&gt; **c** &amp;amp;", AppHTML("a\r\nb <i> **c** &amp;", whitecross.BodyPlain))
	require.Equal(t, "&lt;script&gt;", AppHTML("<script>", ""))
}

// TestEmailHTML: an email's HTML part keeps formatting and links with only
// their href, shows images as links like the app, and keeps no active content.
func TestEmailHTML(t *testing.T) {
	t.Parallel()
	got := EmailHTML("Hello **Pat**\n\n<script>alert(1)</script>\n\n![clinic](https://tracker.example/pixel.png) "+
		"[form](https://files.example/form.pdf) [bad](javascript:alert(1))", whitecross.BodyMarkdown)
	require.Equal(t, "<p>Hello <strong>Pat</strong></p>\n\n"+
		`<p><a href="https://tracker.example/pixel.png" rel="noreferrer">clinic</a> `+
		`<a href="https://files.example/form.pdf" rel="noreferrer">form</a> bad</p>`+"\n", got)
	require.Equal(t, "<p>a &lt; b<br>\nc &amp; d</p>\n", EmailHTML("a < b\r\nc & d", whitecross.BodyPlain))
}

// TestText: SMS, voice and push get the words without the markup.
func TestText(t *testing.T) {
	t.Parallel()
	require.Equal(t, "Take one pill & rest.\nCall 555.", Text("Take *one* pill &amp; rest.  \nCall `555`<b>.</b>", whitecross.BodyMarkdown),
		"markup and raw HTML go, entities become characters")
	require.Equal(t, "as *written*", Text("  as *written*\n", whitecross.BodyPlain))
}
