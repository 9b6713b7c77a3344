package main

import (
	"fmt"
	"math"
	"strconv"

	"whitecross"
)

// Default send rates, per second and per instance, from the providers'
// published limits (docs/providers.md, Pacing, says where each comes
// from). They are the floor of a plain account: a district with more
// throughput sets its own.
const (
	// defaultSMSRate: Twilio sends one message segment a second from a US
	// long-code number.
	defaultSMSRate = 1
	// defaultVoiceRate: Twilio grants an account one call per second (CPS)
	// unless it is raised in the console.
	defaultVoiceRate = 1
	// defaultEmailRate: the sending rate Amazon SES gave accounts moving
	// out of its sandbox (AWS now sets it per account).
	defaultEmailRate = 14
	// defaultPushRate: unlimited; push services limit each subscription,
	// not the sender.
	defaultPushRate = 0
	// maxSendRate bounds a rate: above it pacing means nothing (use 0).
	maxSendRate = 100000
)

// rateRange is what validateRates accepts.
var rateRange = fmt.Sprintf(" (fractions allowed, e.g. 0.5; 0 = unlimited; at most %d)", maxSendRate)

// rateText writes a default rate as an operator would: "1", "0.5".
func rateText(r float64) string { return strconv.FormatFloat(r, 'f', -1, 64) }

// channelRate ties a rate setting to its channel.
type channelRate struct {
	field   string
	channel whitecross.Channel
	rate    float64
}

func (c *Config) channelRates() []channelRate {
	return []channelRate{{"SMSRate", whitecross.ChannelSMS, c.SMSRate}, {"VoiceRate", whitecross.ChannelVoice, c.VoiceRate},
		{"EmailRate", whitecross.ChannelEmail, c.EmailRate}, {"PushRate", whitecross.ChannelPush, c.PushRate}}
}

// validateRates checks the send rates.
func (c *Config) validateRates(add func(field, format string, args ...any)) {
	for _, r := range c.channelRates() {
		if math.IsNaN(r.rate) || r.rate < 0 || r.rate > maxSendRate {
			add(r.field, "must be 0 (unlimited) or a number of messages a second up to %d, got %s", maxSendRate, rateText(r.rate))
		}
	}
}

// sendRates is the deliver jobs' pacing (delivery.DeliverConfig.Rates).
// With --demo every channel goes to the capture outbox, which has no
// limit: a rate left at its default does not apply there, one set
// explicitly does (to try pacing out).
func (c *Config) sendRates() map[whitecross.Channel]float64 {
	rates := map[whitecross.Channel]float64{}
	for _, r := range c.channelRates() {
		if c.Demo && c.sources[r.field] == "default" {
			continue
		}
		rates[r.channel] = r.rate
	}
	return rates
}
