// Package wharf holds the product's domain vocabulary that every other package
// shares: error codes and the small value types that cross package borders.
// It imports only the standard library, so adapters (db, storage) and
// transports (api, registry) can both depend on it without cycles.
package wharf

import (
	"errors"
	"fmt"
	"time"
)

// Code classifies an error by what the caller did wrong, independent of the
// transport. Each transport owns one table from Code to its own status.
type Code string

// Error codes. Transports map them to statuses; see api.statusFor.
const (
	// Invalid: the request is malformed or breaks a rule (HTTP 400).
	Invalid Code = "invalid"
	// Unauthenticated: no valid credentials were presented (HTTP 401).
	Unauthenticated Code = "unauthenticated"
	// FreshLoginRequired: a session is valid but too old for this call (HTTP 401).
	FreshLoginRequired Code = "fresh_login_required"
	// Forbidden: the caller is known but may not do this (HTTP 403).
	Forbidden Code = "forbidden"
	// NotFound: the named thing does not exist (HTTP 404).
	NotFound Code = "not_found"
	// Conflict: the request collides with the current state (HTTP 409).
	Conflict Code = "conflict"
	// TooLarge: the request body is over the limit (HTTP 413).
	TooLarge Code = "too_large"
	// TooManyRequests: a rate or queue limit refuses the request for now (HTTP 429).
	TooManyRequests Code = "too_many_requests"
	// UnsupportedMediaType: the body is not of an accepted content type (HTTP 415).
	UnsupportedMediaType Code = "unsupported_media_type"
	// Unavailable: the service refuses this kind of call for now, e.g. writes
	// while the registry is read-only (HTTP 503).
	Unavailable Code = "unavailable"
	// Internal: a fault on our side; the message is never shown to clients (HTTP 500).
	Internal Code = "internal"
)

// ErrEmailTaken is the cause of an Invalid error for an e-mail address that
// another account already uses; callers that word it differently test for it.
var ErrEmailTaken = errors.New("e-mail address already used")

// ErrCollecting is the cause of the Conflict a store returns when a blob
// that a push wants to reference is being removed by the garbage collector
// (see internal/blobgc): the push must not reference its stored copy, but
// may wait for the removal to end and store the bytes again.
var ErrCollecting = errors.New("blob is being garbage-collected")

// ErrChanged is the cause of the Conflict a store returns when the row it
// was asked to change is no longer as the caller read it: another change
// came between the read a decision rested on and the write that carries it
// out (optimistic concurrency). The caller may read and decide again; see
// RetryChanged.
var ErrChanged = errors.New("changed since it was read")

// Changed returns the Conflict a store returns when what (e.g. "The
// account") changed since the caller read it.
func Changed(what string) error {
	return &Error{Code: Conflict, Message: what + " was changed by another request; try again", Err: ErrChanged}
}

// changeAttempts bounds RetryChanged: a decision that loses three races in a
// row gives the client the Conflict rather than retrying without end.
const changeAttempts = 3

// RetryChanged runs attempt (a read, a decision and a conditional write)
// until it does not fail with ErrChanged, at most three times, and returns
// its last error.
func RetryChanged(attempt func() error) error {
	var err error
	for range changeAttempts {
		if err = attempt(); !errors.Is(err, ErrChanged) {
			return err
		}
	}
	return err
}

// Error is a domain error: Message is safe to show to the client, Err (if
// any) is the underlying cause, logged but never shown.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted, client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Internal error that keeps err as its logged cause.
func Wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: Internal, Message: "Internal server error", Err: fmt.Errorf("%s: %w", what, err)}
}

// ErrorCode returns the code of the first *Error in err's chain, or Internal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// ErrorMessage returns the client-safe message of err; internal faults get a
// generic text so that no detail of the server leaks.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != Internal {
		return e.Message
	}
	return "Internal server error"
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool {
	return err != nil && ErrorCode(err) == code
}

// RetryAfterError is the cause of a TooManyRequests error that knows when
// the refusal ends; transports tell the client (HTTP's Retry-After).
type RetryAfterError struct {
	After time.Duration
}

func (e *RetryAfterError) Error() string { return "retry after " + e.After.String() }

// Throttled returns a TooManyRequests *Error with a client-safe message
// whose cause says to retry after d.
func Throttled(d time.Duration, message string) *Error {
	return &Error{Code: TooManyRequests, Message: message, Err: &RetryAfterError{After: d}}
}

// RetryAfter returns the wait err's chain asks of the client in whole
// seconds, rounded up and at least one (HTTP's Retry-After counts seconds,
// and 0 would invite an immediate retry); ok is false when it asks none.
func RetryAfter(err error) (seconds int64, ok bool) {
	var e *RetryAfterError
	if !errors.As(err, &e) {
		return 0, false
	}
	return max(int64((e.After+time.Second-1)/time.Second), 1), true
}

// QuotaExceeded is the code of a push refused because it would take a
// namespace past its storage quota; its cause is a *QuotaExceededError.
const QuotaExceeded Code = "quota_exceeded"

// QuotaExceededError says by how much a push missed: it would add Added
// bytes to Usage, and the namespace may hold Limit.
type QuotaExceededError struct {
	Namespace string
	Added     int64
	Usage     int64
	Limit     int64
}

func (e *QuotaExceededError) Error() string {
	return fmt.Sprintf("Quota has been exceeded on namespace %s: this push adds %d bytes to the %d bytes in use, and the limit is %d bytes",
		e.Namespace, e.Added, e.Usage, e.Limit)
}

// QuotaError wraps e as a QuotaExceeded *Error whose message is e's text.
func QuotaError(e *QuotaExceededError) *Error {
	return &Error{Code: QuotaExceeded, Message: e.Error(), Err: e}
}
