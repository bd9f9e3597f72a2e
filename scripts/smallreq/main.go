// Command smallreq measures the small requests that dominate registry
// traffic — manifest GET, blob HEAD, a 4 KiB blob GET, /v2/auth, the
// superuser users page, a logs page — on wharf, on CNCF Distribution and on
// a static Go handler (the floor), in one run on this machine. For each
// request type and concurrency it reports the server's CPU time per request
// (from /proc/PID/stat: CPU, not wall time, because wall time on a shared
// 2-core machine swings from run to run), p50 and p99 latency, and wharf's
// ratio to Distribution and to the floor.
//
//	go run ./scripts/smallreq -wharf ./wharf -distribution "$(scripts/install-test-tools.sh --print-bin)/distribution-registry" [-db postgres://…] [-n 3000] [-c 1,8] [-profile DIR]
//
// Without -db wharf runs on SQLite in a temporary data directory; with it,
// on that (empty) PostgreSQL database. With -profile, after each of
// wharf's rows the same load runs on while wharf takes a CPU profile, kept
// in DIR for `go tool pprof`.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"strings"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("smallreq: ")
	wharfBin := flag.String("wharf", "", "path of the wharf binary to measure (required)")
	distBin := flag.String("distribution", "", "path of CNCF Distribution's registry binary (optional)")
	dbURI := flag.String("db", "", "PostgreSQL URI for wharf (an empty database); SQLite when empty")
	n := flag.Int("n", 3000, "requests per request type and concurrency")
	conc := flag.String("c", "1,8", "concurrencies, comma-separated")
	profileDir := flag.String("profile", "", "if set, keep a CPU profile of wharf per request type and concurrency in this directory")
	floor := flag.String("floor", "", "internal: serve the floor handler on this address")
	floorDir := flag.String("floor-dir", "", "internal: the floor's directory")
	flag.Parse()
	if *floor != "" {
		log.Fatal(serveFloor(*floor, *floorDir))
	}
	if *wharfBin == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*wharfBin, *distBin, *dbURI, *n, *conc, *profileDir); err != nil {
		log.Fatal(err)
	}
}

// run starts the servers, measures and stops them, also when it fails.
func run(wharfBin, distBin, dbURI string, n int, conc, profileDir string) error {
	var levels []int
	for _, s := range strings.Split(conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || c < 1 {
			return fmt.Errorf("bad concurrency %q", s)
		}
		levels = append(levels, c)
	}
	work, err := os.MkdirTemp("", "smallreq-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	var targets []*target
	var debugAddr string
	if profileDir != "" {
		if debugAddr, err = freeAddr(); err != nil {
			return err
		}
		if err := os.MkdirAll(profileDir, 0o755); err != nil {
			return err
		}
	}
	w, err := startWharf(wharfBin, work, dbURI, debugAddr)
	if err != nil {
		return err
	}
	defer w.stop()
	targets = append(targets, w)
	if distBin != "" {
		d, err := startDistribution(distBin, work)
		if err != nil {
			return err
		}
		defer d.stop()
		targets = append(targets, d)
	}
	f, err := startFloor(work)
	if err != nil {
		return err
	}
	defer f.stop()
	targets = append(targets, f)

	for _, t := range targets {
		if err := t.setup(); err != nil {
			return fmt.Errorf("%s: set up: %w", t.name, err)
		}
	}
	engine := "sqlite"
	if dbURI != "" {
		engine = "postgres"
	}
	fmt.Printf("wharf on %s; %d requests per row\n", engine, n)
	fmt.Printf("%-22s %3s  %-12s %10s %9s %9s\n", "request", "c", "server", "cpu µs/req", "p50 µs", "p99 µs")
	for _, kind := range requestKinds {
		for _, c := range levels {
			results := map[string]result{}
			for _, t := range targets {
				req := t.requests[kind]
				if req == nil {
					continue
				}
				r, err := measure(t, req, n, c)
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.name, kind, err)
				}
				results[t.name] = r
				fmt.Printf("%-22s %3d  %-12s %10.0f %9.0f %9.0f\n", kind, c, t.name, r.cpuPerReq, r.p50, r.p99)
				if t == w && profileDir != "" {
					path, err := profile(t, debugAddr, profileDir, kind, req, c)
					if err != nil {
						return fmt.Errorf("%s: profile: %w", kind, err)
					}
					fmt.Printf("%-22s %3d  %-12s profile %s\n", kind, c, t.name, path)
				}
			}
			printRatios(results)
		}
	}
	return nil
}

// printRatios prints wharf's CPU per request against the others measured
// in the same row.
func printRatios(results map[string]result) {
	w, ok := results["wharf"]
	if !ok {
		return
	}
	var parts []string
	for _, other := range []string{"distribution", "floor"} {
		if o, ok := results[other]; ok && o.cpuPerReq > 0 {
			parts = append(parts, fmt.Sprintf("wharf/%s %.2fx", other, w.cpuPerReq/o.cpuPerReq))
		}
	}
	if len(parts) > 0 {
		fmt.Printf("%32s %s\n", "", strings.Join(parts, ", "))
	}
}
