package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

// dataKeyRoutes registers the admin's view of the district's data key: the
// line of the settings page that says which key version seals new writes
// and how far the re-encryption after a rotation has come.
func (s *Server) dataKeyRoutes() {
	register(s, tagAdmin, authRequired, huma.Operation{OperationID: "get-data-key", Method: http.MethodGet, Path: "/api/v1/admin/data-key",
		Summary: "The district's data key and the progress of its re-encryption",
		Description: "ADMIN only (others 403). The district's data key seals message content and other secrets at rest. " +
			"version is the key that seals new writes (0 before anything was sealed), since when it does, and " +
			"reencrypted_percent the share of sealed rows already under it (rounded down: 100 only when rows_left is 0). " +
			"The operator rotates it with `whitecross keys rotate-data`; a background job then re-encrypts the older rows.",
		Errors: []int{http.StatusUnauthorized, http.StatusForbidden}}, s.getDataKey)
}

// DataKey is the district's current data key and the re-encryption's
// progress.
type DataKey struct {
	Version            int        `json:"version" doc:"The key version that seals new writes; 0: none yet"`
	Since              *time.Time `json:"since" doc:"When that version was made; null with version 0"`
	ReencryptedPercent int        `json:"reencrypted_percent" minimum:"0" maximum:"100" doc:"Sealed rows under the current version, in whole percent rounded down"`
	RowsLeft           int64      `json:"rows_left" doc:"Sealed rows still under an older version"`
}

type dataKeyOutput struct{ Body DataKey }

func (s *Server) getDataKey(ctx context.Context, _ *struct{}) (*dataKeyOutput, error) {
	st, err := s.deps.DataKeys.DataKeyStatus(ctx)
	if err != nil {
		return nil, err
	}
	return &dataKeyOutput{Body: dataKeyFrom(st)}, nil
}

func dataKeyFrom(st *whitecross.DataKeyStatus) DataKey {
	out := DataKey{Version: st.Current.Version, ReencryptedPercent: st.ReencryptedPercent(), RowsLeft: st.RowsLeft()}
	if st.Current.Version > 0 {
		since := st.Current.CreatedAt
		out.Since = &since
	}
	return out
}
