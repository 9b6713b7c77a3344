package storetest

import "testing"

// exerciseDirectory is written by the directory work (tenants, locations,
// users, students, groups, who may message whom).
func exerciseDirectory(t *testing.T, open Opener) {
	t.Fatal("directory conformance suite not written yet")
}
