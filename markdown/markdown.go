// Package markdown turns message bodies into what each place shows them
// as: sanitized HTML for the web app and for email, plain text for SMS,
// voice and push. One parser serves them all, so a body reads the same
// everywhere; what the sanitizer lets through depends on where the HTML
// goes. Everything here is safe for concurrent use.
package markdown

import (
	"bytes"
	"html"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	gmhtml "github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"

	"whitecross"
)

// md parses Markdown bodies. No html.WithUnsafe: raw HTML in a body is
// dropped by goldmark before a sanitizer ever sees it. Hard wraps because
// people type messages, not documents: a line break they typed stays one.
var md = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(imagesAsLinks{}, 100))),
	goldmark.WithRendererOptions(gmhtml.WithHardWraps()),
)

// appPolicy keeps formatting and links (http, https, mailto) and adds
// rel="nofollow"; noreferrer keeps a message's URL out of other sites' logs.
var appPolicy = bluemonday.UGCPolicy().RequireNoReferrerOnLinks(true)

// emailPolicy is narrower, for mail clients: formatting, lists, tables and
// http(s)/mailto links with only their href.
var emailPolicy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "strong", "em", "b", "i", "del", "s", "code", "pre", "blockquote",
		"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("href").OnElements("a")
	p.RequireParseableURLs(true)
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireNoReferrerOnLinks(true)
	return p
}()

// textPolicy strips every tag, to read rendered Markdown as plain text.
var textPolicy = bluemonday.StrictPolicy()

// AppHTML is a body as HTML safe to insert into the web app's page:
// Markdown rendered then sanitized; plain text escaped with its line breaks
// kept as <br>.
func AppHTML(body string, format whitecross.BodyFormat) string {
	if format != whitecross.BodyMarkdown {
		return plainHTML(body)
	}
	return render(body, appPolicy)
}

// EmailHTML is a body as the HTML part of an email: Markdown rendered then
// sanitized for mail clients; plain text escaped in one paragraph.
func EmailHTML(body string, format whitecross.BodyFormat) string {
	if format != whitecross.BodyMarkdown {
		return "<p>" + plainHTML(body) + "</p>\n"
	}
	return render(body, emailPolicy)
}

// Text is a body as plain text, Markdown's markup removed, for SMS, voice
// and push.
func Text(body string, format whitecross.BodyFormat) string {
	if format != whitecross.BodyMarkdown {
		return strings.TrimSpace(body)
	}
	return strings.TrimSpace(html.UnescapeString(render(body, textPolicy)))
}

// render renders Markdown and sanitizes it with policy. goldmark only fails
// when writing to its buffer fails, which a bytes.Buffer does not; even
// then the body is escaped, never passed on unsanitized.
func render(body string, policy *bluemonday.Policy) string {
	var buf bytes.Buffer
	if err := md.Convert([]byte(body), &buf); err != nil {
		return plainHTML(body)
	}
	return policy.Sanitize(buf.String())
}

// plainHTML escapes text for HTML and turns each line break into <br>.
func plainHTML(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(html.EscapeString(s), "\n", "<br>\n")
}

// imagesAsLinks turns every Markdown image into a link to it. An image
// loads when the message is opened, so a remote one would tell its host who
// read the message and when: a read receipt to a third party. A link loads
// only when followed.
type imagesAsLinks struct{}

func (imagesAsLinks) Transform(doc *ast.Document, _ text.Reader, _ parser.Context) {
	var images []*ast.Image
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if img, ok := n.(*ast.Image); ok && entering {
			images = append(images, img)
		}
		return ast.WalkContinue, nil
	})
	for _, img := range images {
		link := ast.NewLink()
		link.Destination, link.Title = img.Destination, img.Title
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		if !link.HasChildren() {
			link.AppendChild(link, ast.NewString(img.Destination))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}
