package registry

import (
	"context"
	"io"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// quotaSteps are the reservations a body of unknown length asks for as it
// streams, largest first: near the limit, smaller ones still fit.
var quotaSteps = []int64{8 << 20, 1 << 20, 64 << 10}

// quotaReader reads an upload's body no further than the bytes reserved
// for it against its namespace's quota: a body of known length is
// reserved whole before the first byte, one of unknown length a step at a
// time. A namespace without a limit stops the reserving at the first ask.
type quotaReader struct {
	ctx     context.Context
	s       *Server
	upload  string
	r       io.Reader
	limited bool  // until a reservation finds the namespace unlimited
	left    int64 // while limited: bytes reserved and not yet read
	refused error // the quota's refusal, when one stopped the body
}

// reserve reserves n more bytes, unless the namespace has no limit.
func (q *quotaReader) reserve(n int64) error {
	if n <= 0 || !q.limited {
		return nil
	}
	limited, err := q.s.Store.Reserve(q.ctx, q.upload, n, q.s.DefaultRejectQuotaBytes)
	if err != nil {
		return err
	}
	if q.limited = limited; limited {
		q.left += n
	}
	return nil
}

func (q *quotaReader) Read(p []byte) (int, error) {
	if !q.limited {
		return q.r.Read(p)
	}
	if q.left == 0 {
		// Read one byte before reserving more: a body that ends exactly
		// where its reservation does must not ask for another step.
		if len(p) == 0 {
			return 0, nil
		}
		n, err := q.r.Read(p[:1])
		if n == 0 {
			return 0, err
		}
		if rerr := q.more(); rerr != nil {
			return 0, rerr
		}
		if q.limited {
			q.left--
		}
		return n, err
	}
	p = p[:min(int64(len(p)), q.left)]
	n, err := q.r.Read(p)
	q.left -= int64(n)
	return n, err
}

// more reserves the next step of a body of unknown length: the largest
// of quotaSteps the namespace can still take. A known length was reserved
// whole, so a body longer than it meets the refusal too.
func (q *quotaReader) more() error {
	var err error
	for _, step := range quotaSteps {
		if err = q.reserve(step); err == nil {
			return nil
		}
		if !wharf.IsCode(err, wharf.QuotaExceeded) {
			return err
		}
	}
	q.refused = err
	return err
}
