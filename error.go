package whitecross

import (
	"errors"
	"fmt"
)

// Error codes. The api package maps each to one HTTP status in one table;
// an error without a code is internal and its details never reach a client.
const (
	ECONFLICT     = "conflict"     // 409: duplicate or state conflict
	EFORBIDDEN    = "forbidden"    // 403: the caller may not do this (never used to hide a record: that is ENOTFOUND)
	EINTERNAL     = "internal"     // 500
	EINVALID      = "invalid"      // 422: validation failed; Field names the offending input
	ENOTFOUND     = "not_found"    // 404: missing, or belongs to another tenant, or not visible to the caller
	ERATELIMIT    = "rate_limited" // 429: too many attempts; RetryAfterSeconds says when to come back
	EUNAUTHORIZED = "unauthorized" // 401: missing or bad credentials
	EUNAVAILABLE  = "unavailable"  // 503: a dependency is down, or the server is busy (RetryAfterSeconds)
	ETOOLARGE     = "too_large"    // 413
)

// Error is a domain error with a machine-readable code and a message that is
// safe to show to the caller (no PHI, no secrets).
type Error struct {
	Code    string
	Message string
	// Field is the JSON path of the offending input for EINVALID and for
	// EFORBIDDEN/ENOTFOUND errors about an id inside a request body
	// (e.g. "body.recipient_ids[3]"), else empty.
	Field string
	// Value is the offending value, echoed back to the caller; never PHI.
	Value any
	// RetryAfterSeconds says when to try again: set on ERATELIMIT, and on
	// EUNAVAILABLE when the server is only busy (the API sends Retry-After).
	RetryAfterSeconds int
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("whitecross error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("whitecross error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a coded domain error.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns a coded error about one field of the input.
func FieldErrorf(code, field string, value any, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Value: value, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first domain error in err's chain,
// EINTERNAL for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of a domain error, or a
// generic one for internal errors.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
