package api

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// readyTimeout bounds each dependency's ping in /readyz.
const readyTimeout = 2 * time.Second

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status" enum:"ok"`
}

type healthOutput struct{ Body Health }

func (s *Server) healthz(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	return &healthOutput{Body: Health{Status: "ok"}}, nil
}

// readyz pings every dependency at once, each with its own timeout, and
// names the ones that did not answer. Ping errors go to the log only: they
// can carry addresses.
func (s *Server) readyz(ctx context.Context, _ *struct{}) (*healthOutput, error) {
	names := make([]string, 0, len(s.deps.Ready))
	for name := range s.deps.Ready {
		names = append(names, name)
	}
	sort.Strings(names)
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, readyTimeout)
			defer cancel()
			errs[i] = s.deps.Ready[name].Ping(pctx)
		})
	}
	wg.Wait()
	var down []string
	var details []error
	for i, err := range errs {
		if err != nil {
			s.log.WarnContext(ctx, "dependency down", "request_id", requestIDFrom(ctx), "dependency", names[i], "error", err.Error())
			down = append(down, names[i])
			details = append(details, &huma.ErrorDetail{Location: names[i], Message: "not answering"})
		}
	}
	if len(down) > 0 {
		return nil, huma.NewError(http.StatusServiceUnavailable, "Not ready: "+strings.Join(down, ", ")+".", details...)
	}
	return &healthOutput{Body: Health{Status: "ok"}}, nil
}
