package delivery

import (
	"context"
	"fmt"

	"whitecross"
)

// Callbacks decides what providers' callbacks mean, by the rules the
// deliver jobs apply to what a provider answers a send: api only checks
// their signatures and decodes them.
type Callbacks struct {
	Store whitecross.DeliveryWorkStore
}

var _ whitecross.ProviderCallbacks = (*Callbacks)(nil)

// SendReported implements whitecross.ProviderCallbacks: an SMS refused for
// STOP records the opt-out (recordSMSOptOut, as for a refused send), an
// email event that says so suppresses the address, and the delivery the
// report names moves forward (the store never moves it back, so a late or
// repeated report changes nothing).
func (c *Callbacks) SendReported(ctx context.Context, r whitecross.SendReport) (whitecross.ReportOutcome, error) {
	var out whitecross.ReportOutcome
	var err error
	if out.OptedOut, err = recordSMSOptOut(ctx, c.Store, r.Channel, r.OptedOut, r.To, r.Provider, r.Code); err != nil && !invalid(err) {
		return out, err
	}
	if r.Channel == whitecross.ChannelEmail && r.Suppress != "" && r.To != "" {
		err := c.Store.SuppressEmail(ctx, r.To, r.Suppress)
		if err != nil && !invalid(err) {
			return out, fmt.Errorf("suppress email: %w", err)
		}
		out.Suppressed = err == nil
	}
	if r.Status == "" || r.ProviderID == "" {
		return out, nil
	}
	change, err := c.Store.ApplyProviderStatus(ctx, whitecross.ProviderStatus{
		Provider: r.Provider, ProviderID: r.ProviderID, Status: r.Status, Error: r.Error, At: r.At,
	})
	out.Changed = change != nil
	return out, err
}

// SMSReceived implements whitecross.ProviderCallbacks.
func (c *Callbacks) SMSReceived(ctx context.Context, m whitecross.InboundSMS) error {
	var err error
	switch m.Keyword {
	case whitecross.SMSStop:
		err = c.Store.SetPhoneOptOut(ctx, m.From, true, string(whitecross.SMSStop))
	case whitecross.SMSStart:
		err = c.Store.SetPhoneOptOut(ctx, m.From, false, string(whitecross.SMSStart))
	}
	if err != nil && !invalid(err) {
		return fmt.Errorf("sms opt-out: %w", err)
	}
	return nil
}

// recordSMSOptOut is the one rule for a provider refusing an SMS because
// the number texted STOP to our sender, whether the send's answer or a
// later callback said so: the number is recorded as opted out (source: the
// provider and its code), so it is not texted again rather than failing
// every later message alike. A voice call is a different consent: VOICE
// still calls the number. It reports whether it recorded one.
func recordSMSOptOut(ctx context.Context, st whitecross.DeliveryWorkStore, ch whitecross.Channel, optedOut bool, phone, provider, code string) (bool, error) {
	if !optedOut || ch != whitecross.ChannelSMS || phone == "" {
		return false, nil
	}
	if err := st.SetPhoneOptOut(ctx, phone, true, provider+":"+code); err != nil {
		return false, fmt.Errorf("record sms opt-out: %w", err)
	}
	return true, nil
}

// invalid reports whether err is the store refusing a value (a number or
// address that is none): such a report is acknowledged, not failed, since
// posting it again would not change it.
func invalid(err error) bool { return whitecross.ErrorCode(err) == whitecross.EINVALID }
