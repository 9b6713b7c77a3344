package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"whitecross"
)

// Page cursors are opaque to clients: base64url of a JSON pair, a sort key
// and an id (lower-cased). Each listing gives the key its own meaning (a
// name, a box, a time) and its own error.

// encodePairCursor makes the cursor of the page that starts after (key, id).
func encodePairCursor(key, id string) string {
	b, _ := json.Marshal([2]string{key, strings.ToLower(id)})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodePairCursor reverses encodePairCursor; ok is false for anything it
// did not make, a cursor longer than maxLen, or an id that is not one.
func decodePairCursor(c string, maxLen int) (key, id string, ok bool) {
	if len(c) > maxLen {
		return "", "", false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", false
	}
	var v []string
	if err := json.Unmarshal(b, &v); err != nil || len(v) != 2 {
		return "", "", false
	}
	id, ok = parseID(v[1])
	return v[0], id, ok
}

// pagingCaller returns the caller of a listing and its page size (see
// pageLimit). EUNAUTHORIZED without a caller; EINVALID (query.limit) for a
// limit outside 1..100.
func pagingCaller(ctx context.Context, limit int) (*whitecross.Actor, int, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, 0, err
	}
	limit, err = pageLimit(limit)
	return a, limit, err
}

// Keyset listings fetch one row more than the page (LIMIT limit+1): that
// extra row says whether a next page exists without a COUNT.

// keysetPage cuts items, fetched with LIMIT limit+1, to the page and, when
// the extra row came, returns the cursor after the page's last item as
// after makes it; "" when this is the last page.
func keysetPage[T any](items []T, limit int, after func(last T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, after(items[limit-1])
}
