package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"whitecross"
)

// statusByCode is the one table from domain error codes to HTTP statuses.
// A code that is not here (EINTERNAL, or an uncoded error) is a 500 whose
// details go to the log, never to the client.
var statusByCode = map[string]int{
	whitecross.ECONFLICT:     http.StatusConflict,
	whitecross.EFORBIDDEN:    http.StatusForbidden,
	whitecross.EINVALID:      http.StatusUnprocessableEntity,
	whitecross.ENOTFOUND:     http.StatusNotFound,
	whitecross.ERATELIMIT:    http.StatusTooManyRequests,
	whitecross.EUNAUTHORIZED: http.StatusUnauthorized,
	whitecross.EUNAVAILABLE:  http.StatusServiceUnavailable,
	whitecross.ETOOLARGE:     http.StatusRequestEntityTooLarge,
}

const internalErrorDetail = "Internal error."

func init() {
	// huma builds every error body through NewError, its own validation
	// errors included, so replacing it gives one problem shape everywhere.
	huma.NewError = newProblem
	// Field names are fixed snake_case: {"Email": ...} is an unknown field,
	// not a spelling of "email".
	huma.ValidateStrictCasing = true
}

// newProblem builds an RFC 9457 problem (huma.ErrorModel). It hides the
// details of 500s, and never echoes back a whole body, an object, or a
// password or token value.
func newProblem(status int, msg string, errs ...error) huma.StatusError {
	if status == http.StatusInternalServerError {
		msg, errs = internalErrorDetail, nil
	}
	if status == http.StatusRequestEntityTooLarge && strings.HasPrefix(msg, "request body is too large") {
		msg = "Request body is too large."
	}
	msg = sentence(msg)
	details := make([]*huma.ErrorDetail, 0, len(errs))
	for _, err := range errs {
		if err == nil {
			continue
		}
		var d huma.ErrorDetail
		if dd, ok := err.(huma.ErrorDetailer); ok {
			d = *dd.ErrorDetail()
		} else {
			d.Message = err.Error()
		}
		details = append(details, scrubDetail(&d))
	}
	if len(details) == 0 {
		details = nil
	}
	return &huma.ErrorModel{Status: status, Title: http.StatusText(status), Detail: msg, Errors: details}
}

// sentence capitalises huma's own messages ("validation failed") and ends
// them with a period, like the domain's.
func sentence(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// requiredPrefix and requiredSuffix frame huma's message for a missing
// property, which it reports at the parent object's location.
const (
	requiredPrefix = "expected required property "
	requiredSuffix = " to be present"
)

// scrubDetail names the field of a missing required property in Location
// ("body.email" rather than "body") and drops values that are composite
// (huma reports the whole parent object for missing and unknown properties)
// or secret.
func scrubDetail(d *huma.ErrorDetail) *huma.ErrorDetail {
	if name, ok := strings.CutPrefix(d.Message, requiredPrefix); ok && strings.HasSuffix(name, requiredSuffix) {
		d.Location += "." + strings.TrimSuffix(name, requiredSuffix)
		d.Value = nil
	}
	switch d.Value.(type) {
	case map[string]any, []any:
		d.Value = nil
	}
	last := d.Location[strings.LastIndexByte(d.Location, '.')+1:]
	if d.Location == "body" || strings.Contains(last, "password") || strings.Contains(last, "token") {
		d.Value = nil
	}
	return d
}

// problem turns a handler's error into the huma error that answers it,
// through statusByCode. Internal errors are logged with the request id.
func (s *Server) problem(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err // already an answer (readyz, or an error passed through twice)
	}
	code := whitecross.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		s.log.ErrorContext(ctx, "request failed", "request_id", requestIDFrom(ctx), "error", err.Error())
		return huma.NewError(http.StatusInternalServerError, internalErrorDetail)
	}
	var e *whitecross.Error
	errors.As(err, &e)
	var details []error
	if e.Field != "" {
		details = append(details, &huma.ErrorDetail{Location: e.Field, Message: e.Message, Value: e.Value})
	}
	perr := huma.NewError(status, e.Message, details...)
	// ERATELIMIT (429) and EUNAVAILABLE (503) may say when to come back.
	if e.RetryAfterSeconds > 0 {
		return huma.ErrorWithHeaders(perr, http.Header{"Retry-After": {strconv.Itoa(e.RetryAfterSeconds)}})
	}
	return perr
}

// handle wraps a handler so that every error it returns goes through
// problem: huma would otherwise put an uncoded error's text in the body.
func handle[I, O any](s *Server, h func(context.Context, *I) (*O, error)) func(context.Context, *I) (*O, error) {
	return func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	}
}

// writeProblem answers outside huma (middleware, unknown routes, panics)
// with the same problem shape.
func writeProblem(w http.ResponseWriter, status int, detail string, errs ...error) {
	writeError(w, huma.NewError(status, detail, errs...))
}

// writeError writes err, an error from problem or huma.NewError, with its
// headers (Retry-After).
func writeError(w http.ResponseWriter, err error) {
	var he huma.HeadersError
	if errors.As(err, &he) {
		for k, vs := range he.GetHeaders() {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
	}
	var se huma.StatusError
	if !errors.As(err, &se) {
		se = huma.NewError(http.StatusInternalServerError, internalErrorDetail)
	}
	body, jerr := json.Marshal(se)
	if jerr != nil {
		se = huma.NewError(http.StatusInternalServerError, internalErrorDetail)
		body, _ = json.Marshal(se)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(se.GetStatus())
	_, _ = w.Write(body)
}
