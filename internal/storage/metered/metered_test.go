package metered_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/storage/filesystem"
	"github.com/wharf-registry/wharf/internal/storage/metered"
	"github.com/wharf-registry/wharf/internal/storage/storagetest"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// calls records what a driver reported.
type calls struct {
	mu  sync.Mutex
	ops []string // "op result"
}

func (c *calls) StorageOperation(driver, op string, took time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = string(wharf.ErrorCode(err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op+" "+result)
}

func newDriver(t *testing.T) (*metered.Driver, *calls) {
	t.Helper()
	fs, err := filesystem.New(t.TempDir(), filesystem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := &calls{}
	return metered.New(fs, c), c
}

// TestDriver: the wrapped driver keeps the contract.
func TestDriver(t *testing.T) {
	storagetest.RunDriverSuite(t, func(t *testing.T) storage.Driver {
		d, _ := newDriver(t)
		return d
	})
}

// TestOperations: each call is reported once, under its name, with its
// outcome; a FileWriter's Commit and Cancel count as operations too.
func TestOperations(t *testing.T) {
	ctx := context.Background()
	d, c := newDriver(t)
	steps := []struct {
		run  func() error
		want string
	}{
		{func() error { return d.PutContent(ctx, "a/b", []byte("x")) }, "put_content ok"},
		{func() error { _, err := d.GetContent(ctx, "a/b"); return err }, "get_content ok"},
		{func() error { _, err := d.GetContent(ctx, "a/missing"); return err }, "get_content not_found"},
		{func() error { _, err := d.Stat(ctx, "a/b"); return err }, "stat ok"},
		{func() error { _, err := d.List(ctx, ""); return err }, "list ok"},
		{func() error { r, err := d.Reader(ctx, "a/b", 0); r.Close(); return err }, "reader ok"},
		{func() error { return d.Move(ctx, "a/b", "a/c") }, "move ok"},
		{func() error { return d.Walk(ctx, "", func(storage.FileInfo) error { return nil }) }, "walk ok"},
		{func() error { return d.Delete(ctx, "a/c") }, "delete ok"},
		{func() error { return d.Delete(ctx, "../etc") }, "delete invalid"},
		{func() error {
			w, err := d.Writer(ctx, "up/1", false)
			if err != nil {
				return err
			}
			w.Write([]byte("data"))
			return w.Commit(ctx)
		}, "writer ok|commit ok"},
		{func() error {
			w, err := d.Writer(ctx, "up/2", false)
			if err != nil {
				return err
			}
			return w.Cancel(ctx)
		}, "writer ok|cancel ok"},
		{func() error { _, err := d.PurgeStaging(ctx, time.Now().Add(-time.Hour)); return err }, "purge_staging ok"},
	}
	for _, s := range steps {
		c.ops = nil
		s.run()
		if got := slices.Clone(c.ops); !slices.Equal(got, strings.Split(s.want, "|")) {
			t.Errorf("reported %q, want %q", got, s.want)
		}
	}
	if d.Name() != "filesystem" {
		t.Errorf("Name = %q, want the wrapped driver's", d.Name())
	}
}
