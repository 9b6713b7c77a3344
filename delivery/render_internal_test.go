package delivery

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"whitecross"
)

func renderTask(c whitecross.Channel, m *whitecross.Message) *whitecross.DeliveryTask {
	m.ID, m.TenantID = "0195d3a0-0000-7000-8000-000000000009", "0195d3a0-0000-7000-8000-000000000001"
	m.Sender = whitecross.MessageSender{Name: "Nora Nurse"}
	return &whitecross.DeliveryTask{
		Delivery:   whitecross.Delivery{ID: "0195d3a0-0000-7000-8000-000000000042", Channel: c},
		TenantName: "Springfield Public Schools",
		Message:    m,
		Recipient:  whitecross.DeliveryRecipient{Name: "Pat", Locale: "es"},
	}
}

func TestEmailHTMLIsRenderedMarkdownWithoutActiveContentOrRemoteImages(t *testing.T) {
	t.Parallel()
	body := "Hello **Pat**,\n\n<script>alert(1)</script>\n\n![clinic](https://tracker.example/pixel.png)\n\n" +
		"[form](https://files.example/form.pdf) [bad](javascript:alert(1))"
	out := renderOutbound(renderTask(whitecross.ChannelEmail, &whitecross.Message{Subject: "Hi", Body: body, BodyFormat: whitecross.BodyMarkdown}), "https://school.example/")
	require.Contains(t, out.HTML, "<strong>Pat</strong>")
	require.NotContains(t, out.HTML, "<script")
	require.NotContains(t, out.HTML, "alert(1)</")
	require.NotContains(t, out.HTML, "<img", "no remote image: it would report the reading")
	require.Contains(t, out.HTML, `<a href="https://tracker.example/pixel.png" rel="noreferrer">clinic</a>`, "an image is a link, as in the app")
	require.NotContains(t, out.HTML, "javascript:")
	require.Contains(t, out.HTML, `<a href="https://files.example/form.pdf" rel="noreferrer">form</a>`)
	require.Contains(t, out.HTML, `<a href="https://school.example/messages/0195d3a0-0000-7000-8000-000000000009">`)
	require.True(t, strings.HasPrefix(out.Text, body), "the text part is the body as written")
	require.Equal(t, "Springfield Public Schools", out.FromName)
	require.Equal(t, "Pat", out.ToName)

	plain := renderOutbound(renderTask(whitecross.ChannelEmail, &whitecross.Message{Subject: "Hi", Body: "a < b\nc & d"}), "")
	require.True(t, strings.HasPrefix(plain.HTML, "<p>a &lt; b<br>\nc &amp; d</p>"), plain.HTML)
	require.Empty(t, plain.Link, "no public URL, no link")
}

func TestShortChannelsGetPlainClippedText(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("word ", 400)
	m := &whitecross.Message{Subject: "Flu", Body: "Take *one* pill.\n\n" + long, BodyFormat: whitecross.BodyMarkdown}
	sms := renderOutbound(renderTask(whitecross.ChannelSMS, m), "https://school.example")
	require.True(t, strings.HasPrefix(sms.Text, "Flu\nTake one pill.\n"), sms.Text)
	require.LessOrEqual(t, len([]rune(sms.Text)), maxSMSBody)
	require.Greater(t, len([]rune(sms.Text)), maxSMSBody-5)
	require.True(t, strings.HasSuffix(sms.Text, "…"))
	push := renderOutbound(renderTask(whitecross.ChannelPush, m), "https://school.example")
	require.Equal(t, "Flu", push.Subject)
	require.LessOrEqual(t, len([]rune(push.Text)), maxPushBody)
	require.True(t, strings.HasSuffix(push.Text, "…"))
	voice := renderOutbound(renderTask(whitecross.ChannelVoice, m), "https://school.example")
	require.True(t, strings.HasPrefix(voice.Text, "Message from Nora Nurse, Springfield Public Schools. Flu. Take one pill."), voice.Text)
	require.LessOrEqual(t, len([]rune(voice.Text)), maxVoiceBody)
	require.Equal(t, "es", voice.Locale)
}
