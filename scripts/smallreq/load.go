package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// result is one request type at one concurrency on one server.
type result struct {
	cpuPerReq float64 // µs of server CPU (user + system) per request
	p50, p99  float64 // µs of latency seen by the client
}

// clockTick is the length of the kernel's CPU accounting tick (USER_HZ,
// 100 on Linux) in which /proc/PID/stat counts.
const clockTick = 10 * time.Millisecond

// cpuTime is the process's user plus system time so far.
func cpuTime(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count from after it.
	s := string(raw)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// measure sends n requests built by build to t from c clients at once and
// returns the server's CPU per request and the client's latency
// percentiles. Any answer but 2xx fails the run.
func measure(t *target, build func() (*http.Request, error), n, c int) (result, error) {
	// Warm up: connections, caches, a first token verification.
	for range c {
		if err := send(t.client, build); err != nil {
			return result{}, err
		}
	}
	before, err := cpuTime(t.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	latencies := make([]float64, n)
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || failed.Load() != nil {
					return
				}
				start := time.Now()
				if err := send(t.client, build); err != nil {
					failed.Store(&err)
					return
				}
				latencies[i] = float64(time.Since(start).Microseconds())
			}
		})
	}
	wg.Wait()
	if p := failed.Load(); p != nil {
		return result{}, *p
	}
	after, err := cpuTime(t.cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	slices.Sort(latencies)
	return result{cpuPerReq: float64((after - before).Microseconds()) / float64(n),
		p50: latencies[n/2], p99: latencies[min(n-1, n*99/100)]}, nil
}

// send makes one request and reads its answer to the end.
func send(c *http.Client, build func() (*http.Request, error)) error {
	req, err := build()
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return nil
}
