package console

import (
	"strings"
	"testing"
)

// FuzzAcceptsGzip: any Accept-Encoding value is read without panicking,
// and one that does not name gzip never gets it.
func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"", "gzip", "br, gzip;q=0.8", "gzip;q=0", "GZIP ; q=0.000", "identity", ",,;;="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		if acceptsGzip(header) && !strings.Contains(strings.ToLower(header), "gzip") {
			t.Errorf("acceptsGzip(%q) without gzip in it", header)
		}
	})
}
