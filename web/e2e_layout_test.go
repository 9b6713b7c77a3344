package web

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stretchr/testify/require"
)

// TestPresenceOfflineContrastAndCards: "online" beside a sender on an
// emergency's pink reads at 4.5:1 or more (as all text on the page does);
// the sender is the principal, since only administrators send EMERGENCY;
// while the browser is offline nobody is shown online, since nobody can
// know; back online, the markers return. The outbox cards have padding.
func TestPresenceOfflineContrastAndCards(t *testing.T) {
	e := endToEnd(t)
	requireGateway(t, e)
	principal := e.newTab(t, "principal")
	principal.signIn("/sent", principalEmail)
	principal.waitConnected()
	teacher := e.api(t, teacherEmail)
	m := e.api(t, principalEmail).send(map[string]any{"recipient_ids": []string{teacher.user.ID}, "subject": unique("Gas leak: leave by the east doors"),
		"body": "Leave by the east doors now.", "category": "EMERGENCY", "priority": "URGENT", "channels": []string{"EMAIL"}})

	b := e.newTab(t, "teacher")
	b.signIn("/inbox", teacherEmail)
	b.waitConnected()
	marker := fmt.Sprintf(`#message-list li[data-id=%q].is-alert .presence`, m.ID)
	b.waitText(marker, "online")
	b.waitText("#online-list", "Patricia Gomez")
	require.Empty(t, b.contrastProblems(), "text contrast on the inbox")

	b.setOffline(true)
	b.waitFor("no one shown online", `[...document.querySelectorAll('.presence')].every((e) => !e.getClientRects().length)`)
	b.waitText("#online-empty", "Not known while offline.")
	require.Zero(t, evalJS[int](b, `document.querySelectorAll('#online-list li').length`))
	b.setOffline(false)
	b.waitText(marker, "online")
	b.waitText("#online-list", "Patricia Gomez")

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

// TestPhoneLayout drives the main pages at a phone's width (390 px): the
// navigation is a menu behind a button, the push prompt shows once and can
// be dismissed, and on every page the content starts at the top, nothing
// is wider than the screen (the delivery table reflows), every touch
// target is 24 px or more, and compose stays short.
func TestPhoneLayout(t *testing.T) {
	e := endToEnd(t)
	nurse := e.api(t, nurseEmail)
	inhaler := nurse.withSubject("sent", "Sofia used her inhaler today")
	require.Len(t, inhaler, 1, "the demo's message")
	later := nurse.send(map[string]any{"recipient_ids": []string{e.api(t, guardianEmail).user.ID}, "subject": unique("Picture day reminder"),
		"body": "Picture day is next week.", "scheduled_at": time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339)})
	t.Cleanup(func() { nurse.call(http.MethodDelete, "/api/v1/messages/"+later.ID, nil, nil) })

	b := e.newTab(t, "nurse on a phone")
	b.do(chromedp.EmulateViewport(390, 844))
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")

	// The push prompt shows once, and goes when dismissed; the switch
	// stays in the menu.
	b.waitFor("the push prompt", `document.getElementById('push-prompt')?.getClientRects().length > 0`)
	b.phoneChecks("inbox with the push prompt", false)
	b.click("#push-prompt-dismiss")
	require.True(t, evalJS[bool](b, `document.getElementById('push-prompt') === null`))
	b.do(chromedp.Reload())
	b.waitView("box")
	b.waitFor("the push switch in the menu", `document.getElementById('push-toggle') !== null`)
	require.True(t, evalJS[bool](b, `document.getElementById('push-prompt') === null`), "shown once")

	// The menu: closed, opened, closed again by choosing a page or Escape.
	const navVisible = `document.getElementById('nav-sent').getClientRects().length > 0`
	require.Equal(t, "false", evalJS[string](b, `document.getElementById('menu-toggle').getAttribute('aria-expanded')`))
	require.False(t, evalJS[bool](b, navVisible), "the menu starts closed")
	b.click("#menu-toggle")
	require.Equal(t, "true", evalJS[string](b, `document.getElementById('menu-toggle').getAttribute('aria-expanded')`))
	require.True(t, evalJS[bool](b, navVisible))
	b.phoneChecks("inbox with the menu open", false)
	b.click("#nav-sent")
	b.waitFor("the sent box", `location.pathname === '/sent' && document.getElementById('main').dataset.state === 'ready'`)
	require.False(t, evalJS[bool](b, navVisible), "choosing a page closes the menu")
	b.click("#menu-toggle")
	b.do(chromedp.Focus(chromedp.ID("nav-inbox")), chromedp.KeyEvent(kb.Escape))
	require.False(t, evalJS[bool](b, navVisible), "Escape closes the menu")
	require.Equal(t, "menu-toggle", evalJS[string](b, `document.activeElement.id`), "and gives the focus back to its button")

	for _, page := range []struct{ path, view, ready string }{
		{"/inbox", "box", "#message-list li"},
		{"/messages/" + inhaler[0].ID, "message", "#delivery-table tbody tr"},
		{"/messages/" + later.ID, "message", "#reschedule-at"},
		{"/scheduled", "box", "#message-list li"},
		{"/compose", "compose", "#compose-body"},
		{"/outbox", "outbox", "#outbox-list li"},
	} {
		b.open(page.path)
		b.waitView(page.view)
		b.waitFor(page.ready, fmt.Sprintf(`document.querySelector(%s) !== null`, js(page.ready)))
		b.phoneChecks(page.path, true)
	}
	// Compose was 1,700 px long at this width. Since then it gained two
	// options folded to one line each (send to an audience, ask to
	// acknowledge): 1,250 px then, 1,320 px with them; 1,366 px with a
	// third (the students it is about, issue 15).
	b.open("/compose")
	b.waitView("compose")
	height := evalJS[int](b, `document.documentElement.scrollHeight`)
	require.LessOrEqual(t, height, 1370, "compose at 390 px is %d px long", height)
	b.click("#compose-schedule-later")
	b.phoneChecks("compose, send later", true)
	b.screenshot("compose-phone-later", 390, 844)
}

// phoneChecks checks the page as shown on a phone: no element reaches past
// the screen's edges, every touch target is at least 24 px each way, text
// contrast, the page's structure, and (top) that the page's content starts
// right under the top bar.
func (b *tab) phoneChecks(page string, top bool) {
	b.t.Helper()
	problems := evalJS[[]string](b, `(() => {
		const problems = [];
		const width = document.documentElement.clientWidth;
		if (document.documentElement.scrollWidth > width) problems.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' px');
		// Shown: laid out, and not for screen readers only (1 px, clipped).
		const shown = (e) => e.getClientRects().length > 0 && !e.closest('.visually-hidden, .skip-link') && e.getBoundingClientRect().width > 1;
		const name = (e) => e.tagName + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '') + ' "' + e.textContent.trim().slice(0, 30) + '"';
		for (const e of document.querySelectorAll('body *')) {
			if (!shown(e)) continue;
			const r = e.getBoundingClientRect();
			if (r.width > 0 && (r.left < -0.5 || r.right > width + 0.5)) problems.push('past the edge (' + Math.round(r.left) + '..' + Math.round(r.right) + '): ' + name(e));
		}
		// A scroll container that scrolls sideways cuts its content off
		// (form fields and code blocks in message text scroll by design).
		for (const e of document.querySelectorAll('body *')) {
			if (!shown(e) || e.matches('input, textarea, select') || e.closest('.message-body')) continue;
			if (getComputedStyle(e).overflowX !== 'visible' && e.scrollWidth > e.clientWidth + 1) problems.push('cut off (' + e.scrollWidth + ' px in ' + e.clientWidth + '): ' + name(e));
		}
		// Links in running text (and in message text) are exempt, as WCAG 2.5.8 allows.
		const inText = (e) => e.closest('.message-body') || [...e.parentElement.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
		for (const e of document.querySelectorAll('a[href], button, input, select, textarea, summary, [role=option]')) {
			if (!shown(e) || (e.tagName === 'A' && inText(e))) continue;
			const r = e.getBoundingClientRect();
			if (r.width < 24 || r.height < 24) problems.push('touch target ' + Math.round(r.width) + 'x' + Math.round(r.height) + ': ' + name(e));
		}
		return problems;
	})()`)
	require.Empty(b.t, problems, "%s at a phone's width", page)
	require.Empty(b.t, b.contrastProblems(), "text contrast of %s at a phone's width", page)
	b.checkAccessibility(page)
	if top {
		require.LessOrEqual(b.t, evalJS[float64](b, `document.getElementById('main').getBoundingClientRect().top + scrollY`), 80.0,
			"the content of %s starts under the top bar", page)
	}
}
