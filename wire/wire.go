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

// ChannelsOf converts channel names of a request to channels (nil for none).
func ChannelsOf(names []string) []whitecross.Channel { return enums[whitecross.Channel](names) }

// enums converts names to the enum T, nil for none (so omitempty holds).
func enums[T ~string](names []string) []T {
	var out []T
	for _, n := range names {
		out = append(out, T(n))
	}
	return out
}
