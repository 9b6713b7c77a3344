package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"whitecross"
)

// ackRequest is a validated request for acknowledgement, with its
// escalation (nil when it does not escalate).
type ackRequest struct {
	escalation *whitecross.Escalation
}

// validAckRequest checks the acknowledgement fields of a send: nil when
// none is asked for. EINVALID naming the field: body.escalation without
// ack_requested; body.escalation.after_minutes outside
// MinEscalationAfterMinutes..MaxEscalationAfterMinutes;
// body.escalation.repeat outside 0..MaxEscalationRepeat;
// body.escalation.channels when empty, body.escalation.channels[i] for
// IN_APP (everyone has it already) or an unknown channel. Repeated channels
// count once.
func validAckRequest(in *whitecross.MessageCreate) (*ackRequest, error) {
	e := in.Escalation
	if !in.AckRequested {
		if e != nil {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.escalation", nil,
				"Escalation needs ack_requested: only a message that asks to be acknowledged can escalate.")
		}
		return nil, nil
	}
	if e == nil {
		return &ackRequest{}, nil
	}
	if e.AfterMinutes < whitecross.MinEscalationAfterMinutes || e.AfterMinutes > whitecross.MaxEscalationAfterMinutes {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.escalation.after_minutes", e.AfterMinutes,
			"Escalate after %d to %d minutes.", whitecross.MinEscalationAfterMinutes, whitecross.MaxEscalationAfterMinutes)
	}
	if e.Repeat < 0 || e.Repeat > whitecross.MaxEscalationRepeat {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.escalation.repeat", e.Repeat,
			"Repeat must be 0 to %d.", whitecross.MaxEscalationRepeat)
	}
	if len(e.Channels) == 0 {
		return nil, whitecross.FieldErrorf(whitecross.EINVALID, "body.escalation.channels", nil,
			"Give at least one channel to escalate on: %s.", joinEnum(whitecross.Channels[1:]))
	}
	want := map[whitecross.Channel]bool{}
	for i, c := range e.Channels {
		if c == whitecross.ChannelInApp || !slices.Contains(whitecross.Channels, c) {
			return nil, whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.escalation.channels[%d]", i), string(c),
				"Escalation channel must be one of %s (everyone has the message in the app already).", joinEnum(whitecross.Channels[1:]))
		}
		want[c] = true
	}
	out := &whitecross.Escalation{AfterMinutes: e.AfterMinutes, Repeat: e.Repeat, OtherGuardians: e.OtherGuardians}
	for _, c := range whitecross.Channels {
		if want[c] {
			out.Channels = append(out.Channels, c)
		}
	}
	return &ackRequest{escalation: out}, nil
}

// checkEscalationChannels refuses an escalation channel that the caller's
// district does not allow, as checkAllowedChannels does for the message's
// own: EINVALID naming body.escalation.channels[i] of the request.
func checkEscalationChannels(ctx context.Context, q Querier, tenantID string, in *whitecross.MessageCreate, ack *ackRequest) error {
	if ack == nil || ack.escalation == nil {
		return nil
	}
	var raw string
	if err := q.QueryRow(ctx, `SELECT settings FROM tenants WHERE id = $1`, tenantID).Scan(&raw); err != nil {
		return fmt.Errorf("read tenant settings: %w", err)
	}
	var st whitecross.TenantSettings
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return fmt.Errorf("decode tenant settings: %w", err)
	}
	for i, c := range in.Escalation.Channels {
		if !st.ChannelAllowed(c) {
			return whitecross.FieldErrorf(whitecross.EINVALID, fmt.Sprintf("body.escalation.channels[%d]", i), string(c),
				"Your district does not allow %s messages.", c)
		}
	}
	return nil
}
