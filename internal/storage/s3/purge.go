package s3

import (
	"context"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// PurgeStaging removes what writers left before cutoff: uploads closed and
// never resumed or cancelled (their state, tail and multipart upload), tail
// objects no state names any more, and multipart uploads started before
// cutoff that no state names, the leftovers of a process that died while
// writing. A writer idle since before cutoff, or one writing without pause
// since before it, loses its data too, so pick a cutoff far longer than any
// upload may take or pause (hours). It returns how many uploads and
// objects it removed.
func (d *Driver) PurgeStaging(ctx context.Context, cutoff time.Time) (int, error) {
	type slot struct {
		state    time.Time // zero if there is no state object
		tails    map[string]time.Time
		current  string // the tail the state names
		uploadID string
	}
	slots := map[string]*slot{}
	root := d.prefix + stagingDir + "/"
	pages := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{Bucket: &d.bucket, Prefix: &root})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return 0, wharf.Wrap(err, "s3: purge staging")
		}
		for _, o := range page.Contents {
			dir, name, ok := strings.Cut(strings.TrimPrefix(aws.ToString(o.Key), root), "/")
			if !ok {
				continue
			}
			s := slots[dir]
			if s == nil {
				s = &slot{tails: map[string]time.Time{}}
				slots[dir] = s
			}
			if name == stateObject {
				s.state = aws.ToTime(o.LastModified)
			} else {
				s.tails[name] = aws.ToTime(o.LastModified)
			}
		}
	}

	removed := 0
	live := map[string]bool{} // upload ids that fresh states name
	for dir, s := range slots {
		staging := root + dir + "/"
		if !s.state.IsZero() {
			st, err := d.loadState(ctx, staging)
			if err != nil && !isNotFound(err) {
				return removed, wharf.Wrap(err, "s3: purge staging")
			}
			s.current, s.uploadID = st.Tail, st.UploadID
		}
		if !s.state.IsZero() && s.state.Before(cutoff) {
			// Its upload, started before the state was written, is not
			// live, so the loop over multipart uploads below aborts it.
			if err := d.deleteObject(ctx, staging+stateObject); err != nil {
				return removed, wharf.Wrap(err, "s3: purge staging")
			}
			s.current = "" // its tail goes below
			removed++
		} else if s.uploadID != "" {
			live[s.uploadID] = true
		}
		for name, mod := range s.tails {
			if name != s.current && mod.Before(cutoff) {
				if err := d.deleteObject(ctx, staging+name); err != nil {
					return removed, wharf.Wrap(err, "s3: purge staging")
				}
				removed++
			}
		}
	}

	uploads := s3.NewListMultipartUploadsPaginator(d.client, &s3.ListMultipartUploadsInput{Bucket: &d.bucket, Prefix: aws.String(d.prefix)})
	for uploads.HasMorePages() {
		page, err := uploads.NextPage(ctx)
		if err != nil {
			return removed, wharf.Wrap(err, "s3: purge staging: list uploads")
		}
		for _, u := range page.Uploads {
			id := aws.ToString(u.UploadId)
			if live[id] || !aws.ToTime(u.Initiated).Before(cutoff) {
				continue
			}
			if err := d.abortUpload(ctx, aws.ToString(u.Key), id); err != nil {
				return removed, wharf.Wrap(err, "s3: purge staging: abort upload")
			}
			removed++
		}
	}
	return removed, nil
}
