package store_test

import (
	"testing"

	"whitecross/store"
	"whitecross/store/storetest"
)

func TestPostgres(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) *store.DB { return storetest.Open(t, store.Postgres) })
}
