package api_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wharf-registry/wharf/internal/config"
	"github.com/wharf-registry/wharf/internal/db"
	"github.com/wharf-registry/wharf/internal/db/dbtest"
)

// TestConsoleSessionTagExpirations: the console's session answer lists
// the configured TAG_EXPIRATION_OPTIONS in seconds, in their order, for
// the organization's time-machine setting.
func TestConsoleSessionTagExpirations(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, store *db.DB) {
		e := newEnv(t, store, func(c *config.Config) {
			c.TagExpirationOptions = []time.Duration{0, time.Hour, 14 * 24 * time.Hour}
			c.DefaultTagExpiration = time.Hour
		})
		r := e.anonymous().do("GET", "/api/v1/console/session", nil)
		mustStatus(t, r, http.StatusOK)
		var got []float64
		for _, v := range r.JSON(t)["tag_expiration_options"].([]any) {
			got = append(got, v.(float64))
		}
		if want := []float64{0, 3600, 1209600}; !slices.Equal(got, want) {
			t.Errorf("tag_expiration_options %v, want %v", got, want)
		}
	})
}
