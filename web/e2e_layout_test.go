package web

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPresenceOfflineContrastAndCards: "online" beside a sender on an
// emergency's pink reads at 4.5:1 or more (as all text on the page does);
// while the browser is offline nobody is shown online, since nobody can
// know; back online, the markers return. The outbox cards have padding.
func TestPresenceOfflineContrastAndCards(t *testing.T) {
	e := endToEnd(t)
	requireGateway(t, e)
	teacher := e.newTab(t, "teacher")
	teacher.signIn("/sent", teacherEmail)
	teacher.waitConnected()
	principal := e.api(t, principalEmail)
	m := e.api(t, teacherEmail).send(map[string]any{"recipient_ids": []string{principal.user.ID}, "subject": unique("Gas leak: leave by the east doors"),
		"body": "Leave by the east doors now.", "category": "EMERGENCY", "priority": "URGENT", "channels": []string{"EMAIL"}})

	b := e.newTab(t, "principal")
	b.signIn("/inbox", principalEmail)
	b.waitConnected()
	marker := fmt.Sprintf(`#message-list li[data-id=%q].is-alert .presence`, m.ID)
	b.waitText(marker, "online")
	b.waitText("#online-list", "Terry Brooks")
	require.Empty(t, b.contrastProblems(), "text contrast on the inbox")

	b.setOffline(true)
	b.waitFor("no one shown online", `[...document.querySelectorAll('.presence')].every((e) => !e.getClientRects().length)`)
	b.waitText("#online-empty", "Not known while offline.")
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#online-list li').length`))
	b.setOffline(false)
	b.waitText(marker, "online")
	b.waitText("#online-list", "Terry Brooks")

	b.open("/outbox")
	b.waitView("outbox")
	b.waitText("#outbox-list .outbox-item", m.Subject)
	padding := evalJS[[]float64](b, `(() => { const s = getComputedStyle(document.querySelector('#outbox-list .outbox-item'));
		return [s.paddingTop, s.paddingRight, s.paddingBottom, s.paddingLeft].map(parseFloat); })()`)
	for _, p := range padding {
		require.GreaterOrEqual(t, p, 8.0, "an outbox card's padding (top, right, bottom, left): %v", padding)
	}
	require.Empty(t, b.contrastProblems(), "text contrast on the outbox")
}

// contrastProblems lists the visible text whose contrast with its
// background is below WCAG AA: 4.5:1, or 3:1 for large text (24 px, or
// 18.66 px bold). Disabled controls are exempt.
func (b *tab) contrastProblems() []string {
	b.t.Helper()
	return evalJS[[]string](b, `(() => {
		const parse = (c) => { const [r, g, b, a = 1] = c.match(/rgba?\(([^)]+)\)/)[1].split(/[ ,/]+/).filter(Boolean).map(Number); return { r, g, b, a }; };
		const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
		const luminance = ({ r, g, b }) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
		const background = (el) => {
			for (let e = el; e; e = e.parentElement) {
				const c = parse(getComputedStyle(e).backgroundColor);
				if (c.a > 0.5) return c;
			}
			return { r: 255, g: 255, b: 255, a: 1 };
		};
		const problems = [];
		for (const el of document.querySelectorAll('body *')) {
			if (!el.getClientRects().length || el.closest('.visually-hidden, .skip-link, [disabled]')) continue;
			const text = [...el.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join('').trim();
			if (!text) continue;
			const s = getComputedStyle(el);
			const [fg, bg] = [luminance(parse(s.color)), luminance(background(el))];
			const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
			const size = parseFloat(s.fontSize);
			const large = size >= 24 || (Number(s.fontWeight) >= 700 && size >= 18.66);
			if (ratio < (large ? 3 : 4.5)) problems.push(el.tagName + '.' + el.className + ' "' + text.slice(0, 40) + '" ' + ratio.toFixed(2) + ':1, ' + s.color + ' on ' + getComputedStyle(el).backgroundColor);
		}
		return problems;
	})()`)
}
