package store_test

import (
	"testing"

	"whitecross/store"
	"whitecross/store/storetest"
	"whitecross/vault"
)

// newTestStore returns a store on db with a fresh master key and the fast
// test hasher, for the tests and benchmarks of this package.
func newTestStore(tb testing.TB, db *store.DB) *store.Store {
	tb.Helper()
	key, err := vault.GenerateMasterKey()
	if err != nil {
		tb.Fatal(err)
	}
	v, err := vault.New(key)
	if err != nil {
		tb.Fatal(err)
	}
	return store.New(db, storetest.InsecureHasher(), v)
}
