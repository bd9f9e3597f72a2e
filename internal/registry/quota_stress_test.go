package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestQuotaStress: 16 clients push at once into a namespace with a 10 MiB
// quota, mixing monolithic uploads, chunked ones (1 MiB PATCHes), mounts
// from another repository of the namespace, manifest PUTs and manifest
// deletions (so that space comes back and the namespace stays near its
// limit). A sampler reads what the namespace is charged — its linked blobs
// plus its uploads' reservations, which bound what the uploads hold in
// storage — as fast as it can: it never passes the limit, every refusal is
// the quota's, and nothing answers 5xx.
func TestQuotaStress(t *testing.T) {
	t.Parallel()
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		t.Parallel()
		e := newEnv(t, store)
		ctx := context.Background()
		const limit, clients, rounds = 10 << 20, 16, 12
		e.createOrg("stress")
		admin := e.as("admin", "adminpass1")
		shared := make([][]byte, 4)
		for i := range shared {
			shared[i] = randomBytes(256 << 10)
			admin.pushBlob("stress/shared", shared[i])
		}
		e.mustAPI(http.StatusCreated, "POST", "/api/v1/superuser/organization/stress/quota", map[string]any{"limit_bytes": limit})
		ns, err := store.Accounts.AccountByName(ctx, "stress")
		if err != nil {
			t.Fatal(err)
		}

		var maxCharged, samples atomic.Int64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stop:
					return
				default:
				}
				charged, err := store.Usage.NamespaceCharge(ctx, ns.ID)
				if err != nil {
					t.Errorf("sample: %v", err)
					return
				}
				samples.Add(1)
				for old := maxCharged.Load(); charged > old && !maxCharged.CompareAndSwap(old, charged); old = maxCharged.Load() {
				}
			}
		}()

		var mu sync.Mutex
		counts := map[string]int{}
		var problems []string
		note := func(what string, r *response) bool {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Status/100 == 2:
				counts[what+" ok"]++
				return true
			case r.Status == http.StatusForbidden && strings.Contains(string(r.Body), "Quota has been exceeded on namespace stress"):
				counts[what+" refused"]++
			default:
				problems = append(problems, fmt.Sprintf("%s: %s", what, r))
			}
			return false
		}

		workers := make([]int, clients)
		each(workers, func(w int, _ int) {
			c := e.as("admin", "adminpass1")
			repo := fmt.Sprintf("stress/app%d", w%4)
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var layers [][]byte
			for round := range rounds {
				switch rng.IntN(5) {
				case 0: // monolithic
					data := randomBytes(256<<10 + rng.IntN(1<<20))
					if note("monolithic", c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+sha256Of(data), data)) {
						layers = append(layers, data)
					}
				case 1: // chunked, 1 MiB PATCHes
					r := c.do("POST", "/v2/"+repo+"/blobs/uploads/", nil)
					if !note("start", r) {
						continue
					}
					var data []byte
					ok := true
					for range 1 + rng.IntN(3) {
						chunk := randomBytes(1 << 20)
						if r = c.do("PATCH", r.Header.Get("Location"), chunk); !note("patch", r) {
							ok = false
							break
						}
						data = append(data, chunk...)
					}
					if ok && note("finish", c.do("PUT", withQuery(r.Header.Get("Location"), "digest="+sha256Of(data)), nil)) {
						layers = append(layers, data)
					}
				case 2: // mount from another repository of the namespace
					data := shared[rng.IntN(len(shared))]
					c.extra = []string{"repository:stress/shared:pull"}
					r := c.do("POST", "/v2/"+repo+"/blobs/uploads/?mount="+sha256Of(data)+"&from=stress/shared", nil)
					c.extra = nil
					if note("mount", r) && r.Status == http.StatusCreated {
						layers = append(layers, data)
					}
				case 3: // a manifest of what this client uploaded
					if len(layers) == 0 {
						continue
					}
					config := []byte(fmt.Sprintf(`{"client":%d,"round":%d}`, w, round))
					if !note("config", c.do("POST", "/v2/"+repo+"/blobs/uploads/?digest="+sha256Of(config), config)) {
						continue
					}
					var ds []desc
					for _, l := range layers {
						ds = append(ds, blobDesc(mtOCILayer, l))
					}
					body := manifestJSON(mtOCIManifest, blobDesc(mtOCIConfig, config), ds, nil)
					r := c.do("PUT", fmt.Sprintf("/v2/%s/manifests/c%d-r%d", repo, w, round), body, "Content-Type", mtOCIManifest)
					if r.Status == http.StatusBadRequest && strings.Contains(string(r.Body), "MANIFEST_BLOB_UNKNOWN") {
						// Another client deleted a manifest that shared a
						// blob with this one, which unlinked it.
						layers = nil
						continue
					}
					note("manifest", r)
					layers = nil
				case 4: // give space back: delete one of the repository's manifests
					var list struct{ Tags []string }
					r := c.do("GET", "/v2/"+repo+"/tags/list", nil)
					if r.Status != http.StatusOK || json.Unmarshal(r.Body, &list) != nil || len(list.Tags) == 0 {
						continue
					}
					r = c.do("HEAD", "/v2/"+repo+"/manifests/"+list.Tags[rng.IntN(len(list.Tags))], nil, "Accept", mtOCIManifest)
					if r.Status != http.StatusOK {
						continue // deleted by another client meanwhile
					}
					r = c.do("DELETE", "/v2/"+repo+"/manifests/"+r.Header.Get("Docker-Content-Digest"), nil)
					if r.Status != http.StatusNotFound {
						note("delete", r)
					}
				}
			}
		})
		close(stop)
		<-sampled
		for _, p := range problems {
			t.Error(p)
		}
		t.Logf("%d samples; the namespace was charged at most %d of %d bytes; %v", samples.Load(), maxCharged.Load(), limit, counts)
		if maxCharged.Load() > limit {
			t.Fatalf("the namespace was charged %d bytes at one sample, past its %d-byte quota", maxCharged.Load(), limit)
		}
		if counts["monolithic refused"]+counts["patch refused"]+counts["mount refused"] == 0 {
			t.Fatalf("no push was refused: the run never reached the limit (%v)", counts)
		}
	})
}
