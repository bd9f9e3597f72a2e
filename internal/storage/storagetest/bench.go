package storagetest

import (
	"bytes"
	"io"
	"testing"

	"github.com/wharf-registry/wharf/internal/storage"
)

// benchSize is the size of the blob the driver benchmarks move.
const benchSize = 64 << 20

// BenchmarkWrite measures a streamed 64 MiB upload to d in the 32 KiB
// writes an HTTP body copy makes. Each driver's test file calls it, so
// that the drivers' numbers compare.
func BenchmarkWrite(b *testing.B, d storage.Driver) {
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 32<<10/16)
	b.SetBytes(benchSize)
	for b.Loop() {
		w, err := d.Writer(b.Context(), "blobs/bench", false)
		if err != nil {
			b.Fatal(err)
		}
		for written := 0; written < benchSize; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Commit(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead measures streaming a 64 MiB blob out of d with io.Copy, as
// the registry serves one.
func BenchmarkRead(b *testing.B, d storage.Driver) {
	if err := d.PutContent(b.Context(), "blobs/bench", make([]byte, benchSize)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	for b.Loop() {
		r, err := d.Reader(b.Context(), "blobs/bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.Copy(io.Discard, r); err != nil || n != benchSize {
			b.Fatalf("read %d bytes: %v", n, err)
		}
		r.Close()
	}
}
