package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Healthy is any answer below 500: the registry's 401 is a live server,
// a 503 (or nobody listening) is not.
func TestHealthcheck(t *testing.T) {
	for _, tc := range []struct {
		status  int
		healthy bool
	}{{200, true}, {401, true}, {404, true}, {500, false}, {503, false}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tc.status) }))
		err := healthcheck(context.Background(), []string{"--url", srv.URL + "/v2/"}, io.Discard, io.Discard)
		srv.Close()
		if (err == nil) != tc.healthy {
			t.Errorf("answer %d: healthcheck error %v, want healthy %v", tc.status, err, tc.healthy)
		}
	}
	if err := healthcheck(context.Background(), []string{"--url", "http://127.0.0.1:1/"}, io.Discard, io.Discard); err == nil {
		t.Error("nothing listening: healthcheck passed")
	}
}
