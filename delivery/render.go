package delivery

import (
	"fmt"
	"html"
	"net/url"
	"strings"

	"whitecross"
	"whitecross/markdown"
)

// Lengths of what leaves the platform, in characters. An SMS over 160
// characters is sent as several segments (Twilio refuses more than 1,600);
// a push notification shows two or three lines; a voice script is read
// aloud, so it stays about a minute long. The full message is one link away.
const (
	maxSMSBody   = 400
	maxPushBody  = 240
	maxVoiceBody = 800
)

// renderOutbound renders the task's message for its channel. To is left to
// the caller (one per push subscription). A sensitive message becomes a
// notice naming its sender and district with a link to sign in — the same
// on every channel, with a generic subject: its subject, body and
// attachments never leave the platform.
func renderOutbound(task *whitecross.DeliveryTask, publicURL string) *whitecross.Outbound {
	m := task.Message
	out := &whitecross.Outbound{
		DeliveryID: task.Delivery.ID,
		TenantID:   m.TenantID,
		Channel:    task.Delivery.Channel,
		ToName:     task.Recipient.Name,
		Locale:     task.Recipient.Locale,
		FromName:   task.TenantName,
		Link:       messageLink(publicURL, m.ID),
		Urgent:     m.Urgent(),
	}
	if m.Sensitive {
		renderNotice(out, m.Sender.Name, task.TenantName)
		return out
	}
	switch out.Channel {
	case whitecross.ChannelEmail:
		out.Subject = m.Subject
		out.Text, out.HTML = emailBodies(m, out.Link)
	case whitecross.ChannelSMS:
		out.Text = clipText(m.Subject+"\n"+markdown.Text(m.Body, m.BodyFormat), maxSMSBody)
	case whitecross.ChannelVoice:
		out.Text = clipText(fmt.Sprintf("Message from %s, %s. %s. %s", m.Sender.Name, task.TenantName,
			strings.TrimRight(m.Subject, ". "), markdown.Text(m.Body, m.BodyFormat)), maxVoiceBody)
	default: // PUSH
		out.Subject = m.Subject
		out.Text = clipText(markdown.Text(m.Body, m.BodyFormat), maxPushBody)
	}
	return out
}

// renderNotice makes out the notice of a sensitive message.
func renderNotice(out *whitecross.Outbound, sender, tenant string) {
	notice := fmt.Sprintf("You have a secure message from %s, %s. Sign in to read it.", sender, tenant)
	out.Text = notice
	if out.Channel == whitecross.ChannelEmail || out.Channel == whitecross.ChannelPush {
		out.Subject = "Secure message from " + tenant
	}
	if out.Channel != whitecross.ChannelEmail {
		return // SMS: the provider adds the link; voice cannot read one
	}
	out.HTML = "<p>" + html.EscapeString(notice) + "</p>\n"
	if out.Link != "" {
		out.Text += "\n\n" + out.Link
		out.HTML += `<p><a href="` + html.EscapeString(out.Link) + `">Sign in to read it</a></p>` + "\n"
	}
}

// messageLink is the message's page in the web app ("" without a public URL).
func messageLink(publicURL, messageID string) string {
	if publicURL == "" {
		return ""
	}
	return strings.TrimRight(publicURL, "/") + "/messages/" + url.PathEscape(messageID)
}

// emailBodies returns the text and HTML parts of a message's email: the
// body (Markdown rendered and sanitized for the HTML part, as written for
// the text part), its attachments as links, and the link to the message.
func emailBodies(m *whitecross.Message, link string) (text, htm string) {
	var t, h strings.Builder
	t.WriteString(m.Body)
	h.WriteString(markdown.EmailHTML(m.Body, m.BodyFormat))
	if len(m.Attachments) > 0 {
		t.WriteString("\n\nAttachments:")
		h.WriteString("<p>Attachments:</p>\n<ul>\n")
		for _, a := range m.Attachments {
			fmt.Fprintf(&t, "\n- %s: %s", a.Name, a.URL)
			fmt.Fprintf(&h, "<li><a href=\"%s\">%s</a></li>\n", html.EscapeString(a.URL), html.EscapeString(a.Name))
		}
		h.WriteString("</ul>\n")
	}
	if link != "" {
		t.WriteString("\n\nOpen it in White Cross: " + link)
		fmt.Fprintf(&h, "<p><a href=\"%s\">Open it in White Cross</a></p>\n", html.EscapeString(link))
	}
	return t.String(), h.String()
}

// clipText shortens s to n characters, ending with "…" when cut.
func clipText(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
