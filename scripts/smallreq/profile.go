package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
)

// profileSeconds is how long each CPU profile runs; the load keeps going
// until the profile is back.
const profileSeconds = 5

// profile drives one request type at concurrency c against wharf while its
// debug server (debugAddr) takes a CPU profile, and writes the profile to
// dir, named after the request type: what the numbers above were spent on.
func profile(t *target, debugAddr, dir, kind string, build func() (*http.Request, error), c int) (string, error) {
	var stop atomic.Bool
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for !stop.Load() {
				if err := send(t.client, build); err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", debugAddr, profileSeconds))
	stop.Store(true)
	wg.Wait()
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if p := failed.Load(); p != nil {
		return "", *p
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("CPU profile: %s", resp.Status)
	}
	name := strings.NewReplacer(" ", "-", "/", "", "(", "", ")", "").Replace(kind)
	path := filepath.Join(dir, fmt.Sprintf("%s-c%d.pprof", name, c))
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return "", err
	}
	return path, f.Close()
}
