// Package wire holds the JSON shapes of the domain's messages, deliveries
// and read receipts as clients read them, and the one function that builds
// each from the domain. The REST API answers with them and the realtime
// gateway sends them in its frames, so a Message reads the same in a REST
// answer and a live WebSocket frame (API.md): no second encoder can drift.
// The struct tags also document the fields in the OpenAPI spec.
package wire

import "whitecross"

// ChannelNames converts channels to their names, [] (never null) for none.
func ChannelNames(cs []whitecross.Channel) []string {
	out := make([]string, 0, len(cs))
	for _, c := range cs {
		out = append(out, string(c))
	}
	return out
}
