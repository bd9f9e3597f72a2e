package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck is the container image's HEALTHCHECK: the image has no shell
// and no curl, so the binary probes the server it runs beside. Healthy is
// any answer below 500 from --url: the default, /health/instance, answers
// 503 when the database, storage or token signing fails (see package
// health).
func healthcheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wharf healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:8080/health/instance", "URL to probe")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	// Straight to the server, whatever proxy the environment names.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return fmt.Errorf("unhealthy: GET %s answered %s", *url, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: GET %s answered %s\n", *url, resp.Status)
	return nil
}
