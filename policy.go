package whitecross

import (
	"fmt"
	"slices"
)

// This file is the send policy of API.md "Who may send what": which
// categories and priorities each role may send, and when a message is
// sensitive. It lives in the domain so that the store, which enforces it,
// the API, which serves it to clients (GET /api/v1/tenant send_policy), and
// the web app, which offers each role only what it may send, all read the
// same table.
//
//	sender                 audience                 EMERGENCY   highest priority
//	ADMIN                  the whole district       yes         URGENT
//	SCHOOL_ADMIN           within their locations   yes         URGENT
//	NURSE, STAFF           within their locations   no          URGENT
//	GUARDIAN               never                    no          HIGH
//
// An emergency alert reaches families on every channel and in the urgent
// lane, so only administrators, who answer for it, raise one; a nurse or a
// teacher may still mark a message URGENT (a sick child to collect now). A
// guardian writes to staff, never to a crowd: their message is at most HIGH.

// SendPolicy is what one role may send.
type SendPolicy struct {
	// Emergency is whether the role may send category EMERGENCY.
	Emergency bool
	// MaxPriority is the highest priority the role may give a message.
	MaxPriority Priority
	// Audience is whether the role may send to an audience (a broadcast):
	// an ADMIN to the whole district, other staff within their locations
	// (store.checkAudience), a guardian never.
	Audience bool
}

// SendPolicyFor returns the send policy of role r. An unknown role gets a
// guardian's, the narrowest.
func SendPolicyFor(r Role) SendPolicy {
	switch r {
	case RoleAdmin, RoleSchoolAdmin:
		return SendPolicy{Emergency: true, MaxPriority: PriorityUrgent, Audience: true}
	case RoleNurse, RoleStaff:
		return SendPolicy{MaxPriority: PriorityUrgent, Audience: true}
	default:
		return SendPolicy{MaxPriority: PriorityHigh}
	}
}

// AllowsCategory reports whether the policy allows category c.
func (p SendPolicy) AllowsCategory(c Category) bool {
	return c != CategoryEmergency || p.Emergency
}

// AllowsPriority reports whether the policy allows priority pr.
func (p SendPolicy) AllowsPriority(pr Priority) bool {
	return slices.Index(Priorities, pr) <= slices.Index(Priorities, p.MaxPriority)
}

// Categories lists the categories the policy allows, in Categories order.
func (p SendPolicy) Categories() []Category {
	return slices.DeleteFunc(slices.Clone(Categories), func(c Category) bool { return !p.AllowsCategory(c) })
}

// Priorities lists the priorities the policy allows, lowest first.
func (p SendPolicy) Priorities() []Priority {
	return slices.DeleteFunc(slices.Clone(Priorities), func(pr Priority) bool { return !p.AllowsPriority(pr) })
}

// CheckSend returns nil when role r may send a message of category c and
// priority pr. Otherwise EFORBIDDEN naming the field of the rule that
// refused, body.category (looked at first) or body.priority, with a message
// that says the rule and who may.
func CheckSend(r Role, c Category, pr Priority) error {
	p := SendPolicyFor(r)
	if !p.AllowsCategory(c) {
		return FieldErrorf(EFORBIDDEN, "body.category", string(c),
			"%s may not send %s messages: emergency alerts are sent by district or school administrators (ADMIN, SCHOOL_ADMIN).",
			roleNoun(r), c)
	}
	if !p.AllowsPriority(pr) {
		if r == RoleGuardian {
			return FieldErrorf(EFORBIDDEN, "body.priority", string(pr),
				"A guardian's message is at most %s priority; %s is for school and district staff. In an emergency, call the school.",
				p.MaxPriority, pr)
		}
		return FieldErrorf(EFORBIDDEN, "body.priority", string(pr), "%s may send messages of at most %s priority.", roleNoun(r), p.MaxPriority)
	}
	return nil
}

// ReplyKind returns the category and priority of a reply by role r to a
// message of category c and priority pr. A reply keeps its original's kind
// (so a thread reads as one conversation) as far as the replier may send
// it: answering a message one received is never refused, so what the
// replier may not send is lowered instead. A category they may not send
// (EMERGENCY) becomes GENERAL: a family's "we have picked her up" is part
// of the conversation, not a second alert, and must not carry the
// emergency badge or ride the urgent lane; GENERAL is the neutral category,
// while a health category would say something the reply does not. A
// priority above theirs becomes their highest (a guardian's answer to an
// URGENT message is HIGH).
func ReplyKind(r Role, c Category, pr Priority) (Category, Priority) {
	p := SendPolicyFor(r)
	if !p.AllowsCategory(c) {
		c = CategoryGeneral
	}
	if !p.AllowsPriority(pr) {
		pr = p.MaxPriority
	}
	return c, pr
}

// roleNoun names a role in a sentence: "A nurse".
func roleNoun(r Role) string {
	switch r {
	case RoleAdmin:
		return "A district administrator"
	case RoleSchoolAdmin:
		return "A school administrator"
	case RoleNurse:
		return "A nurse"
	case RoleStaff:
		return "A staff member"
	case RoleGuardian:
		return "A guardian"
	}
	return fmt.Sprintf("A user with role %q", string(r))
}

// Health reports whether c is about a student's health (MEDICATION,
// HEALTH_UPDATE, IMMUNIZATION, INCIDENT): such messages are sensitive by
// default.
func (c Category) Health() bool {
	switch c {
	case CategoryMedication, CategoryHealthUpdate, CategoryImmunization, CategoryIncident:
		return true
	}
	return false
}

// HealthSensitiveByDefault reports whether health categories are always
// sensitive in the district (sensitive_by_default; unset means on).
func (s TenantSettings) HealthSensitiveByDefault() bool {
	return s.SensitiveByDefault == nil || *s.SensitiveByDefault
}

// MessageSensitive decides whether a new message of category c is
// sensitive, given what its sender asked (requested: nil when they said
// nothing). A health category is sensitive unless the sender asked for
// false and the district has turned sensitive_by_default off; while it is
// on, false is ignored for those categories, so a slip of the sender never
// puts health information in an email or a text message. Any other
// category is sensitive only when the sender asked.
func (s TenantSettings) MessageSensitive(c Category, requested *bool) bool {
	if c.Health() {
		return requested == nil || *requested || s.HealthSensitiveByDefault()
	}
	return requested != nil && *requested
}
