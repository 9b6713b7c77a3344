package web

// A student's record in the browser: a message about a student, the
// student's communication log, and the printable disclosures.

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"whitecross/internal/testutil"
)

// disclosure is one item of GET /api/v1/admin/disclosures.
type disclosure struct {
	MessageID string `json:"message_id"`
	ToUserID  string `json:"to_user_id"`
	Channel   string `json:"channel"`
	Kind      string `json:"kind"`
}

// TestStudentRecordPages: the nurse writes to Sofia's mother about Sofia
// (picked under "About student(s)") by email too; the mother finds it in
// Sofia's log; once the email is sent and she has read it, the district
// admin's printable disclosures list both, and the printout leaves the app
// around them off.
func TestStudentRecordPages(t *testing.T) {
	e := endToEnd(t)
	admin, guardian := e.api(t, adminEmail), e.api(t, guardianEmail)
	var students struct {
		Items []struct{ ID, Name string } `json:"items"`
	}
	require.Equal(t, http.StatusOK, admin.call(http.MethodGet, "/api/v1/students?q=Sofia", nil, &students))
	require.Len(t, students.Items, 1)
	sofia := students.Items[0].ID
	subject := unique("About Sofia's inhaler")

	nurse := e.newTab(t, "nurse")
	nurse.signIn("/inbox", nurseEmail)
	nurse.waitView("box")
	nurse.compose("Maria Garcia", subject, "Please bring a refill on Monday.", func() {
		nurse.click("#compose-about")
		nurse.do(chromedp.SendKeys(chromedp.ID("compose-students"), "Sofia"))
		nurse.clickText("#compose-students-options [role=option]", "Sofia Garcia")
		nurse.waitText("#compose-students-chosen .chip", "Sofia Garcia")
		nurse.click("#compose-channel-email")
		nurse.checkAccessibility("compose")
	})
	nurse.waitView("message")
	nurse.waitText(".message-header .about-students a", "Sofia Garcia")
	messageID := strings.TrimPrefix(evalJS[string](nurse, `location.pathname`), "/messages/")

	// The mother finds it in her child's log.
	mother := e.newTab(t, "guardian")
	mother.signIn("/records", guardianEmail)
	mother.waitView("records")
	mother.clickText("#records-rows a", "Sofia Garcia")
	mother.waitView("studentLog")
	mother.waitText("#student-log .record-entry", subject)
	mother.waitText("#student-log .record-entry", "Please bring a refill on Monday.")
	mother.checkAccessibility("student log")
	require.Equal(t, http.StatusNoContent, guardian.call(http.MethodPut, "/api/v1/messages/"+messageID+"/read", nil, nil))

	// The demo's capture provider sends the email.
	testutil.WaitUntil(t, waitTimeout, "the email sent and the read recorded", func() bool {
		var list struct{ Items []disclosure }
		admin.call(http.MethodGet, "/api/v1/admin/disclosures?student_id="+sofia, nil, &list)
		return len(list.Items) == 2
	})

	b := e.newTab(t, "admin")
	b.signIn("/students/"+sofia, adminEmail)
	b.waitView("student")
	b.click("#student-messages-link")
	b.waitView("studentLog")
	b.waitText("#student-log .record-entry", subject)
	b.click("#student-log-disclosures")
	b.waitView("disclosures")
	b.waitFor("two disclosures", `document.querySelectorAll('#disclosures-rows tr').length === 2`)
	rows := evalJS[[]string](b, `[...document.querySelectorAll('#disclosures-rows tr')].map((r) => r.dataset.kind + ' ' + r.dataset.messageId + ' ' + r.textContent)`)
	require.True(t, strings.HasPrefix(rows[0], "DELIVERED "+messageID), rows[0])
	require.Contains(t, rows[0], "Maria Garcia")
	require.Contains(t, rows[0], "Email")
	require.True(t, strings.HasPrefix(rows[1], "READ "+messageID), rows[1])
	require.Contains(t, rows[1], "In the app")
	b.waitText("#disclosures-title", "Disclosures about Sofia Garcia")
	b.checkAccessibility("disclosures")

	// On paper: the list, without the navigation and the form.
	b.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	hidden := `(s) => getComputedStyle(document.querySelector(s)).display === 'none'`
	require.True(t, evalJS[bool](b, `(`+hidden+`)('#nav')`), "no navigation on paper")
	require.True(t, evalJS[bool](b, `(`+hidden+`)('#disclosures-form')`), "no form on paper")
	require.False(t, evalJS[bool](b, `(`+hidden+`)('#disclosures-table')`), "the list on paper")
}
