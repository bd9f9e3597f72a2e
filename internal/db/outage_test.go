package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// TestAsUnavailable checks which driver errors become Unavailable: those
// of a database out of reach, by type and SQLSTATE, and no others.
func TestAsUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"connection refused", refused, true},
		{"wrapped network error", fmt.Errorf("read: %w", refused), true},
		{"socket closed mid-reply", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"connection closed", io.EOF, true},
		{"pgx closed connection", pgconn.ErrConnClosed, true},
		{"connection failure 08006", &pgconn.PgError{Code: "08006"}, true},
		{"admin shutdown 57P01", &pgconn.PgError{Code: "57P01"}, true},
		{"starting up 57P03", &pgconn.PgError{Code: "57P03"}, true},
		{"too many connections 53300", &pgconn.PgError{Code: "53300"}, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false},
		{"syntax error", &pgconn.PgError{Code: "42601"}, false},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, false},
		{"the caller gave up", fmt.Errorf("%w: %w", context.Canceled, refused), false},
		{"the caller's deadline", context.DeadlineExceeded, false},
		{"bad connection: database/sql retries it", driver.ErrBadConn, false},
		{"anything else", errors.New("boom"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := asUnavailable(tc.err)
			if got := wharf.IsCode(err, wharf.Unavailable); got != tc.want {
				t.Fatalf("asUnavailable(%v) is Unavailable: %v, want %v", tc.err, got, tc.want)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("asUnavailable(%v) = %v, lost the cause", tc.err, err)
			}
		})
	}
	if asUnavailable(nil) != nil {
		t.Error("asUnavailable(nil) is not nil")
	}
}
