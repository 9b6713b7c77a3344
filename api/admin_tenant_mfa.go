package api

import "whitecross"

// roleList converts role names of a settings patch (the enum was checked
// by the schema; the store checks duplicates).
func roleList(names []string) []whitecross.Role {
	out := make([]whitecross.Role, len(names))
	for i, n := range names {
		out[i] = whitecross.Role(n)
	}
	return out
}

// roleNames is the wire form of a role list: never null.
func roleNames(roles []whitecross.Role) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = string(r)
	}
	return out
}
