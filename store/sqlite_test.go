package store_test

import (
	"testing"

	"whitecross/store"
	"whitecross/store/storetest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) *store.DB { return storetest.Open(t, store.SQLite) })
}
