package web

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// requireGateway fails with a clear message when the server has no
// realtime gateway (these tests need GET /api/v1/ws).
func requireGateway(t *testing.T, e *e2e) {
	t.Helper()
	res, err := http.Get(e.baseURL + "/api/v1/ws")
	require.NoError(t, err)
	res.Body.Close()
	require.NotEqual(t, http.StatusNotFound, res.StatusCode, "the realtime gateway GET /api/v1/ws is not mounted")
}

// waitConnected waits until the tab's realtime connection is open.
func (b *tab) waitConnected() {
	b.t.Helper()
	b.waitFor("the realtime connection", `document.documentElement.dataset.connection === 'open'`)
}

// TestLiveMessageTypingAndReadReceipt is the conversation: the nurse
// sends a message to a guardian, who sees it arrive without reloading; the
// guardian sees the nurse typing a reply, opens (reads) the message, and
// the nurse sees the read receipt; the reply arrives in the open thread.
func TestLiveMessageTypingAndReadReceipt(t *testing.T) {
	e := endToEnd(t)
	requireGateway(t, e)
	subject := unique("Sofia's inhaler refill")

	guardian := e.newTab(t, "guardian")
	guardian.signIn("/inbox", guardianEmail)
	guardian.waitView("box")
	guardian.waitConnected()

	nurse := e.newTab(t, "nurse")
	nurse.signIn("/compose", nurseEmail)
	nurse.waitView("compose")
	nurse.waitConnected()
	nurse.do(chromedp.SendKeys(chromedp.ID("compose-to"), "Maria"))
	nurse.clickText("#compose-to-options [role=option]", guardianName)
	// The app asks for the presence of the people it shows: the nurse now
	// sees the guardian she picked online.
	nurse.waitText("#online-list", guardianName)
	nurse.do(
		chromedp.SendKeys(chromedp.ID("compose-subject"), subject),
		chromedp.SendKeys(chromedp.ID("compose-body"), "Sofia's inhaler is almost empty. Could you send a refill?"),
		chromedp.SetValue(chromedp.ID("compose-category"), "REMINDER"), // not a health category: those are sensitive, their text kept out of threads
	)
	nurse.click("#compose-send")
	nurse.waitView("message")
	nurse.waitText("#receipt-summary", "Read by 0 of 1")

	// It arrives in the guardian's open inbox, announced to screen readers.
	guardian.waitText("#message-list .message-subject", subject)
	guardian.waitText("#announcer", "New message from "+nurseName+": "+subject)
	require.Equal(t, "/inbox", evalJS[string](guardian, `location.pathname`), "no reload or navigation")
	guardian.waitText("#online-list", nurseName) // the sender shown in the inbox

	// The nurse types a follow-up: the guardian sees it on the inbox row.
	nurse.do(chromedp.SendKeys(chromedp.ID("reply-body"), "Also,"))
	guardian.waitText("#message-list .typing-line", nurseName+" is typing…")

	// The guardian opens it, which reads it; the nurse, still typing, is
	// shown in the thread, and sees the read receipt.
	guardian.clickText("#message-list .message-link", subject)
	guardian.waitView("message")
	nurse.do(chromedp.SendKeys(chromedp.ID("reply-body"), " her spacer"))
	guardian.waitText("#thread-typing", nurseName+" is typing…")
	nurse.waitText("#receipt-summary", "Read by 1 of 1")
	nurse.click("#receipt-toggle")
	nurse.waitText("#receipt-list .is-read", guardianName)

	// The reply arrives in the guardian's open thread, and the typing
	// indicator goes away.
	nurse.do(chromedp.SendKeys(chromedp.ID("reply-body"), " needs cleaning too."))
	nurse.click("#reply-send")
	nurse.waitText("#reply-status", "Reply sent.")
	guardian.waitText(".thread .message-body", "Also, her spacer needs cleaning too.")
	guardian.waitFor("the typing indicator to go", `document.getElementById('thread-typing').hidden`)
}

// TestOfflineMessageIsSentExactlyOnce writes a message while the network is
// cut: it waits in the outbox (kept in the browser's storage), the app
// shows it is offline, and once the network returns the message is sent.
// Then a send whose answer is lost on the way back (the server stored it)
// is repeated with the same Idempotency-Key: still exactly one message.
func TestOfflineMessageIsSentExactlyOnce(t *testing.T) {
	e := endToEnd(t)
	guardian := e.api(t, guardianEmail)
	b := e.newTab(t, "nurse")
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")

	subject := unique("Written offline")
	b.compose(guardianName, subject, "Sofia may go back to class.", func() {
		b.setOffline(true)
		b.waitText("#connection", "Offline.")
	})
	b.waitView("box")
	b.waitText("#pending-list .pending-item", subject)
	b.waitText("#pending-list .pending-item", "Waiting for the connection")
	b.waitText("#connection", "1 waiting.")
	// The outbox survives a reload: it is in localStorage, with the
	// Idempotency-Key made when the message was written.
	stored := evalJS[[]map[string]any](b, `Object.entries(localStorage).filter(([k]) => k.startsWith('wc.pending.')).flatMap(([, v]) => JSON.parse(v))`)
	require.Len(t, stored, 1)
	require.Equal(t, subject, stored[0]["subject"])
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, stored[0]["key"])
	require.Empty(t, guardian.withSubject("inbox", subject), "nothing reached the server while offline")

	b.setOffline(false)
	b.waitFor("the outbox to empty", `document.getElementById('pending-panel').hidden`)
	b.waitFor("the offline notice to go", `document.getElementById('connection').textContent.indexOf('Offline') < 0`)
	require.Len(t, guardian.withSubject("inbox", subject), 1, "delivered exactly once")

	// The answer is lost: the browser sees a network error for a request
	// the server carried out. The app retries with the same key.
	subject = unique("Answer lost")
	var failed atomic.Int32
	stop := b.failResponses("*/api/v1/messages", &failed)
	b.compose(guardianName, subject, "Please pick up the permission slip.", nil)
	b.waitView("box") // the app treats the lost answer as offline
	b.waitText("#pending-list .pending-item", subject)
	require.EqualValues(t, 1, failed.Load())
	require.Len(t, guardian.withSubject("inbox", subject), 1, "the server stored it although the browser saw no answer")
	stop()
	b.setOffline(true) // the next "online" event sends what waits
	b.setOffline(false)
	b.waitFor("the outbox to empty", `document.getElementById('pending-panel').hidden`)
	require.Len(t, guardian.withSubject("inbox", subject), 1, "the retry with the same Idempotency-Key sent nothing twice")
}

// compose writes a message from the compose page and sends it. The
// recipient is picked from the directory first (that needs the network);
// then beforeSend runs (e.g. the connection drops while writing).
func (b *tab) compose(toName, subject, body string, beforeSend func()) {
	b.t.Helper()
	b.click(".compose-link")
	b.waitView("compose")
	b.do(chromedp.SendKeys(chromedp.ID("compose-to"), strings.Fields(toName)[0]))
	b.clickText("#compose-to-options [role=option]", toName)
	b.waitText("#compose-to-chosen .chip", toName)
	if beforeSend != nil {
		beforeSend()
	}
	b.do(chromedp.SendKeys(chromedp.ID("compose-subject"), subject), chromedp.SendKeys(chromedp.ID("compose-body"), body))
	b.click("#compose-send")
}

// failResponses makes every POST to urlPattern reach the server and then
// fail in the browser as a network error (the answer is lost), counting
// them. It returns the func that stops the interception.
func (b *tab) failResponses(urlPattern string, count *atomic.Int32) (stop func()) {
	b.t.Helper()
	ctx, cancel := context.WithCancel(b.ctx)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: urlPattern, RequestStage: fetch.RequestStageResponse}}})
		return err
	}))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range paused {
			if err != nil {
				return
			}
			if ev.Request.Method == http.MethodPost {
				count.Add(1)
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonConnectionClosed})
			} else {
				_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
			}
		}
	}()
	return func() {
		b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, fetch.Disable, cdp.Empty{})
			return err
		}))
		cancel()
		<-done
	}
}

// TestScreenshotsAndPageWeight takes the screenshots of the inbox, a
// thread and compose at desktop and phone widths, checks each page's
// landmarks and labels, and measures the inbox's page weight and time to
// interactive on a cold cache (reported in docs/performance.md, never
// asserted).
func TestScreenshotsAndPageWeight(t *testing.T) {
	e := endToEnd(t)
	b := e.newTab(t, "nurse")
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")

	// Cold cache, signed in: what a nurse waits for when opening the app.
	b.do(chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := cdp.Call(ctx, t, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, network.ClearBrowserCache, cdp.Empty{})
		return err
	}))
	b.open("/inbox")
	b.waitView("box")
	b.waitFor("the inbox mark", `performance.getEntriesByName('wc-inbox-ready').length > 0`)
	raw := evalJS[string](b, `JSON.stringify((() => {
		const nav = performance.getEntriesByType('navigation')[0];
		const assets = performance.getEntriesByType('resource').filter((r) => /\/assets\/.*\.(js|css)$/.test(r.name));
		const sum = (list, key) => list.reduce((n, r) => n + r[key], 0);
		return {
			interactive_ms: performance.getEntriesByName('wc-inbox-ready')[0].startTime,
			dom_content_loaded_ms: nav.domContentLoadedEventEnd,
			files: assets.length + 1,
			transfer_bytes: nav.transferSize + sum(assets, 'transferSize'),
			encoded_bytes: nav.encodedBodySize + sum(assets, 'encodedBodySize'),
			decoded_bytes: nav.decodedBodySize + sum(assets, 'decodedBodySize'),
		};
	})())`)
	var perf map[string]float64
	require.NoError(t, json.Unmarshal([]byte(raw), &perf))
	require.Positive(t, perf["encoded_bytes"], "the page and its assets were fetched")
	t.Logf("inbox on a cold cache: interactive at %.0f ms; %v files, %.0f bytes transferred (%.0f compressed body, %.0f uncompressed)",
		perf["interactive_ms"], perf["files"], perf["transfer_bytes"], perf["encoded_bytes"], perf["decoded_bytes"])
	require.NoError(t, os.WriteFile(filepath.Join(e.screenshotDir(t), "inbox-performance.json"), []byte(raw+"\n"), 0o644))

	b.checkAccessibility("inbox")
	b.screenshot("inbox-desktop", 1280, 800)
	b.screenshot("inbox-phone", 390, 844)

	b.do(chromedp.EmulateViewport(1280, 800))
	b.click("#nav-sent")
	b.waitView("box")
	b.clickText("#message-list .message-link", "Sofia used her inhaler today")
	b.waitView("message")
	b.waitText("#delivery-table", guardianName)
	b.checkAccessibility("thread")
	b.screenshot("thread-desktop", 1280, 800)
	b.screenshot("thread-phone", 390, 844)

	b.do(chromedp.EmulateViewport(1280, 800))
	b.click(".compose-link")
	b.waitView("compose")
	b.do(chromedp.SendKeys(chromedp.ID("compose-to"), "Garc"))
	b.clickText("#compose-to-options [role=option]", guardianName)
	b.do(chromedp.SendKeys(chromedp.ID("compose-subject"), "Hearing screening next week"),
		chromedp.SendKeys(chromedp.ID("compose-body"), "Hello Ms. Garcia,\n\nWe will screen **hearing** for grade 2 on Tuesday.\n\n- No preparation needed\n- Results come home the same day"),
		chromedp.Click(chromedp.ID("compose-format-markdown")),
		chromedp.Click(chromedp.ID("compose-preview-toggle")))
	b.checkAccessibility("compose")
	b.screenshot("compose-desktop", 1280, 800)
	b.screenshot("compose-phone", 390, 844)
}

// TestKeyboardSkipLink checks the first Tab stop is the skip link and that
// it moves the focus to the main content.
func TestKeyboardSkipLink(t *testing.T) {
	e := endToEnd(t)
	b := e.newTab(t, "guardian")
	b.signIn("/inbox", guardianEmail)
	b.waitView("box")
	b.do(chromedp.Reload())
	b.waitView("box")
	b.do(chromedp.KeyEvent("\t"))
	require.Equal(t, "Skip to main content", evalJS[string](b, `document.activeElement.textContent`))
	b.do(chromedp.KeyEvent("\r"))
	b.waitFor("the focus in main", `document.activeElement.id === 'main'`)
	b.do(chromedp.KeyEvent("\t"))
	require.True(t, evalJS[bool](b, `document.getElementById('main').contains(document.activeElement)`), "the next stop is inside the content")
}

// checkAccessibility checks the page's structure: one main and banner, a
// labelled navigation, a skip link first, every form control labelled,
// unique ids, images with alt text, and the live region for announcements.
func (b *tab) checkAccessibility(page string) {
	b.t.Helper()
	problems := evalJS[[]string](b, `(() => {
		const problems = [];
		const visible = (e) => e.offsetParent !== null || e.getClientRects().length > 0;
		if (document.querySelectorAll('main').length !== 1) problems.push('not exactly one main');
		if (!document.querySelector('header.topbar')) problems.push('no banner');
		if (!document.querySelector('nav[aria-label]')) problems.push('no labelled navigation');
		if (document.querySelector('a, button, input')?.className !== 'skip-link') problems.push('the skip link is not first');
		if (!document.querySelector('[aria-live="polite"]#announcer')) problems.push('no live region for announcements');
		if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
		for (const el of document.querySelectorAll('input, select, textarea')) {
			if (!visible(el) || el.type === 'hidden') continue;
			const labelled = el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
			if (!labelled) problems.push('unlabelled ' + el.tagName + '#' + el.id);
		}
		for (const el of document.querySelectorAll('button, a[href]')) {
			if (visible(el) && !el.textContent.trim() && !el.getAttribute('aria-label')) problems.push('nameless ' + el.tagName + ' ' + el.outerHTML.slice(0, 80));
		}
		for (const img of document.querySelectorAll('img')) if (!img.hasAttribute('alt')) problems.push('img without alt ' + img.src);
		const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
		for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push('duplicate id ' + id);
		for (const el of document.querySelectorAll('[aria-labelledby], [aria-describedby], [aria-controls]')) {
			for (const attr of ['aria-labelledby', 'aria-describedby', 'aria-controls']) {
				for (const ref of (el.getAttribute(attr) ?? '').split(/\s+/).filter(Boolean)) {
					if (!document.getElementById(ref)) problems.push(attr + ' points to missing #' + ref);
				}
			}
		}
		return problems;
	})()`)
	require.Empty(b.t, problems, "accessibility of the %s page", page)
}

// TestServiceWorkerRegisters checks the Web Push service worker is served
// so that the browser accepts it (type, scope, the page's CSP).
func TestServiceWorkerRegisters(t *testing.T) {
	e := endToEnd(t)
	b := e.newTab(t, "guardian")
	b.signIn("/inbox", guardianEmail)
	b.waitView("box")
	scope := evalJS[string](b, `import(document.querySelector('script[type=module]').src.replace(/app\.js$/, 'push.js')).then((m) => m.registerWorker()).then((r) => r.scope)`)
	require.Equal(t, e.baseURL+"/", scope)
}

// TestDemoOutboxPage shows the capture outbox of the demo: what email and
// SMS would have carried (a sensitive message: only a notice and a link).
func TestDemoOutboxPage(t *testing.T) {
	e := endToEnd(t)
	nurse := e.api(t, nurseEmail)
	guardian := e.api(t, guardianEmail)
	subject := unique("Bring a water bottle")
	nurse.send(map[string]any{"recipient_ids": []string{guardian.user.ID}, "subject": subject,
		"body": "Tomorrow is field day.", "channels": []string{"EMAIL", "SMS"}})

	b := e.newTab(t, "nurse")
	b.signIn("/inbox", nurseEmail)
	b.waitView("box")
	b.waitFor("the outbox link", `!document.getElementById('nav-outbox-item').hidden`)
	b.click("#nav-outbox")
	b.waitView("outbox")
	b.waitText(`#outbox-list .outbox-item[data-channel="EMAIL"]`, subject)
	b.waitText(`#outbox-list .outbox-item[data-channel="SMS"] .outbox-to`, "+15550100001")
	b.checkAccessibility("outbox")
}
