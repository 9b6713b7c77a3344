package api

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

// bodyRenderer turns message bodies into HTML that is safe to insert into
// a page. Both goldmark.Markdown and a configured bluemonday.Policy are safe
// for concurrent use, so one renderer serves every request.
type bodyRenderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

func newBodyRenderer() *bodyRenderer {
	md := goldmark.New(
		goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.Linkify),
		goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(imagesAsLinks{}, 100))),
		// No html.WithUnsafe: raw HTML in a body is dropped by goldmark
		// before the sanitizer ever sees it. Hard wraps because people type
		// messages, not documents: a line break they typed stays one.
		goldmark.WithRendererOptions(gmhtml.WithHardWraps()),
	)
	// UGCPolicy keeps formatting and links (http, https, mailto) and adds
	// rel="nofollow"; noreferrer keeps a message's URL out of other sites' logs.
	policy := bluemonday.UGCPolicy().RequireNoReferrerOnLinks(true)
	return &bodyRenderer{md: md, policy: policy}
}

// render returns the body as sanitized HTML: Markdown rendered then
// sanitized, plain text escaped with its line breaks kept as <br>.
func (r *bodyRenderer) render(body string, format whitecross.BodyFormat) string {
	if format != whitecross.BodyMarkdown {
		return plainHTML(body)
	}
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(body), &buf); err != nil {
		// goldmark only fails when writing to buf fails, which a
		// bytes.Buffer does not; never fall back to unsanitized text.
		return plainHTML(body)
	}
	return r.policy.Sanitize(buf.String())
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
