package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// stateObject is the name, below a key's staging prefix, of the state a
// closed writer leaves for the next one.
const stateObject = "state"

// partsInFlight is how many parts of one writer may travel at once. A
// writer holds partsInFlight+1 part buffers at most.
const partsInFlight = 2

// minBuffer is the first allocation of a writer's buffer; small uploads
// (manifests, metadata) never take a whole part buffer.
const minBuffer = 64 << 10

// resumeState is what a closed writer leaves in its state object: the open
// multipart upload with its completed parts, and the tail object holding
// the bytes written after the last part.
type resumeState struct {
	UploadID string `json:"upload_id,omitempty"`
	Parts    []part `json:"parts,omitempty"`
	Tail     string `json:"tail,omitempty"` // object name below the staging prefix
	TailSize int64  `json:"tail_size,omitempty"`
}

// part is one completed part of a multipart upload.
type part struct {
	Number int32  `json:"n"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

// Writer returns a writer that streams into a multipart upload on key. To
// resume, it reads the state a closed writer left and downloads its tail
// (less than MinPartSize) into the buffer. A fresh writer first discards
// any such state. The registry runs one writer per key at a time; two
// resumers of one key would share its upload.
func (d *Driver) Writer(ctx context.Context, key string, appendTo bool) (storage.FileWriter, error) {
	if err := check(ctx, "write", key); err != nil {
		return nil, err
	}
	w := &fileWriter{ctx: ctx, d: d, key: key, object: d.object(key), staging: d.staging(key)}
	st, err := d.loadState(ctx, w.staging)
	switch {
	case err != nil && !isNotFound(err):
		return nil, wharf.Wrap(err, "s3: resume "+key)
	case !appendTo && err == nil:
		if err := d.discard(ctx, w.object, w.staging, st.UploadID, st.Tail, true); err != nil {
			return nil, wharf.Wrap(err, "s3: discard uncommitted "+key)
		}
		return w, nil
	case !appendTo:
		return w, nil
	case err != nil:
		return nil, storage.NotFoundError(key, err)
	}
	w.uploadID, w.parts, w.tail, w.persisted = st.UploadID, st.Parts, st.Tail, true
	for _, p := range st.Parts {
		w.size += p.Size
	}
	if st.Tail != "" {
		if err := w.loadTail(ctx, st.TailSize); err != nil {
			return nil, wharf.Wrap(err, "s3: resume "+key)
		}
	}
	return w, nil
}

func (d *Driver) loadState(ctx context.Context, staging string) (resumeState, error) {
	var st resumeState
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &d.bucket, Key: aws.String(staging + stateObject)})
	if err != nil {
		return st, err
	}
	defer out.Body.Close()
	if err := json.NewDecoder(out.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decode upload state %s: %w", staging, err)
	}
	return st, nil
}

// loadTail reads the tail object into the writer's buffer.
func (w *fileWriter) loadTail(ctx context.Context, size int64) error {
	if size >= w.d.partSize {
		return fmt.Errorf("tail of %d bytes is larger than a part", size)
	}
	out, err := w.d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &w.d.bucket, Key: aws.String(w.staging + w.tail)})
	if err != nil {
		return err
	}
	defer out.Body.Close()
	w.grow(int(size))
	w.buf = w.buf[:size]
	if _, err := io.ReadFull(out.Body, w.buf); err != nil {
		return fmt.Errorf("read tail %s: %w", w.tail, err)
	}
	w.size += size
	return nil
}

// discard aborts a key's multipart upload and deletes its staging objects
// (if persisted): the state first, so that no later writer resumes what is
// half gone. S3 deletes are idempotent, so a repeat is harmless.
func (d *Driver) discard(ctx context.Context, object, staging, uploadID, tail string, persisted bool) error {
	var errs []error
	if persisted {
		errs = append(errs, d.deleteObject(ctx, staging+stateObject))
		if tail != "" {
			errs = append(errs, d.deleteObject(ctx, staging+tail))
		}
	}
	if uploadID != "" {
		errs = append(errs, d.abortUpload(ctx, object, uploadID))
	}
	return errors.Join(errs...)
}

func (d *Driver) deleteObject(ctx context.Context, object string) error {
	_, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: &object})
	return err
}

type writerState int

const (
	writing writerState = iota
	closed
	committed
	cancelled
)

func (s writerState) String() string {
	return [...]string{"writing", "closed", "committed", "cancelled"}[s]
}

// fileWriter implements storage.FileWriter over one multipart upload.
type fileWriter struct {
	// ctx is the one Writer was called with: io.Writer has no context
	// parameter, and the contract says Write fails once it is done. Part
	// uploads run under it too.
	ctx     context.Context
	d       *Driver
	key     string
	object  string // the key's object name
	staging string // the key's staging prefix
	state   writerState
	size    int64

	buf      []byte // bytes after the last part; at most partSize
	uploadID string // "" until the first part is sent
	parts    []part
	inflight []*partUpload // parts being sent, oldest first; at most partsInFlight

	persisted bool   // a state object for key exists (resumed, or left by Close)
	tail      string // the tail object that state names
	dirty     bool   // written to since Writer returned
}

// partUpload is one part on its way to S3.
type partUpload struct {
	number int32
	buf    []byte
	done   chan struct{}
	etag   string
	err    error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.state != writing {
		return 0, w.finished("write")
	}
	if err := ctxErr(w.ctx, "write", w.key); err != nil {
		return 0, err
	}
	w.dirty = true
	n := 0
	for len(p) > 0 {
		if int64(len(w.buf)) == w.d.partSize {
			if err := w.sendPart(); err != nil {
				return n, err
			}
		}
		w.grow(len(p))
		c := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+c]
		p = p[c:]
		n += c
		w.size += int64(c)
	}
	return n, nil
}

func (w *fileWriter) Size() int64 { return w.size }

// grow makes room in the buffer for extra more bytes, up to a whole part.
// It doubles small buffers and takes a pooled part buffer once an eighth of
// a part is needed, so a small upload never holds a part buffer and a large
// one makes little garbage.
func (w *fileWriter) grow(extra int) {
	limit := int(w.d.partSize)
	need := min(len(w.buf)+extra, limit)
	if need <= cap(w.buf) {
		return
	}
	var b []byte
	if size := max(need, 2*cap(w.buf), minBuffer); size*8 > limit || w.uploadID != "" {
		b = w.d.getBuffer()
	} else {
		b = make([]byte, 0, size)
	}
	w.buf = append(b, w.buf...)
}

// sendPart starts uploading the full buffer as the next part, once fewer
// than partsInFlight parts are on their way: Write fills the next buffer
// while they travel.
func (w *fileWriter) sendPart() error {
	if len(w.inflight) == partsInFlight {
		if err := w.waitOldest(); err != nil {
			return err
		}
	}
	if w.uploadID == "" {
		id, err := w.d.createUpload(w.ctx, w.object)
		if err != nil {
			return wharf.Wrap(err, "s3: write "+w.key)
		}
		w.uploadID = id
	}
	u := &partUpload{number: int32(len(w.parts) + len(w.inflight) + 1), buf: w.buf, done: make(chan struct{})}
	w.buf = nil
	w.inflight = append(w.inflight, u)
	ctx, d, object, id := w.ctx, w.d, w.object, w.uploadID
	go func() {
		defer close(u.done)
		u.etag, u.err = d.uploadPart(ctx, object, id, u.number, u.buf)
	}()
	return nil
}

// waitOldest waits for the oldest part in flight and records it. A failed
// part stays in flight, so that Close can send it again.
func (w *fileWriter) waitOldest() error {
	u := w.inflight[0]
	<-u.done
	if u.err != nil {
		if err := ctxErr(w.ctx, "write", w.key); err != nil {
			return err
		}
		return wharf.Wrap(u.err, fmt.Sprintf("s3: write %s: part %d", w.key, u.number))
	}
	w.parts = append(w.parts, part{Number: u.number, ETag: u.etag, Size: int64(len(u.buf))})
	w.d.putBuffer(u.buf)
	w.inflight = w.inflight[1:]
	return nil
}

// finishParts waits for every part in flight, sending a failed one once
// more under ctx, and records them.
func (w *fileWriter) finishParts(ctx context.Context) error {
	for len(w.inflight) > 0 {
		u := w.inflight[0]
		<-u.done
		if u.err != nil {
			u.etag, u.err = w.d.uploadPart(ctx, w.object, w.uploadID, u.number, u.buf)
		}
		if err := w.waitOldest(); err != nil {
			return err
		}
	}
	return nil
}

// sendLast uploads the buffer as the next part and waits for it.
func (w *fileWriter) sendLast(ctx context.Context) error {
	if w.uploadID == "" {
		id, err := w.d.createUpload(ctx, w.object)
		if err != nil {
			return err
		}
		w.uploadID = id
	}
	n := int32(len(w.parts) + 1)
	etag, err := w.d.uploadPart(ctx, w.object, w.uploadID, n, w.buf)
	if err != nil {
		return err
	}
	w.parts = append(w.parts, part{Number: n, ETag: etag, Size: int64(len(w.buf))})
	w.d.putBuffer(w.buf)
	w.buf = nil
	return nil
}

// Close sends what it can as parts, stores the rest as the tail object and
// writes the state a later Writer(key, true) resumes from. It runs to the
// end even if the writer's context is done, within cleanupTimeout.
func (w *fileWriter) Close() error {
	if w.state != writing {
		return nil
	}
	w.state = closed
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), cleanupTimeout)
	defer cancel()
	err := w.persist(ctx)
	w.release()
	if err != nil {
		return wharf.Wrap(err, "s3: close writer for "+w.key)
	}
	return nil
}

func (w *fileWriter) persist(ctx context.Context) error {
	if w.persisted && !w.dirty {
		return nil // the stored state is still exact
	}
	if err := w.finishParts(ctx); err != nil {
		return err
	}
	if len(w.buf) >= MinPartSize {
		if err := w.sendLast(ctx); err != nil {
			return err
		}
	}
	st := resumeState{UploadID: w.uploadID, Parts: w.parts}
	if len(w.buf) > 0 {
		// A fresh name each time: the state switches from the old tail to
		// the new one in one PutObject.
		st.Tail, st.TailSize = "tail-"+rand.Text(), int64(len(w.buf))
		if err := w.d.putObject(ctx, w.staging+st.Tail, w.buf); err != nil {
			return err
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := w.d.putObject(ctx, w.staging+stateObject, b); err != nil {
		return err
	}
	if w.tail != "" && w.tail != st.Tail {
		w.d.deleteObject(ctx, w.staging+w.tail) // an orphan is left for PurgeStaging
	}
	return nil
}

func (w *fileWriter) Cancel(ctx context.Context) error {
	switch w.state {
	case cancelled:
		return nil
	case writing:
		w.state = cancelled
		w.release()
		if err := w.d.discard(ctx, w.object, w.staging, w.uploadID, w.tail, w.persisted); err != nil {
			return wharf.Wrap(err, "s3: cancel writer for "+w.key)
		}
		return nil
	default:
		return w.finished("cancel")
	}
}

// Commit deletes the staging state first (the buffer already holds the
// tail), then completes the multipart upload, or puts the object whole if
// no part was ever sent. Any failure discards the upload.
func (w *fileWriter) Commit(ctx context.Context) error {
	if w.state != writing {
		return w.finished("commit")
	}
	w.state = cancelled // what every failure below leaves
	if err := w.commit(ctx); err != nil {
		w.release()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		w.d.discard(dctx, w.object, w.staging, w.uploadID, w.tail, w.persisted)
		return wharf.Wrap(err, "s3: commit "+w.key)
	}
	w.state = committed
	w.release()
	return nil
}

func (w *fileWriter) commit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.finishParts(ctx); err != nil {
		return err
	}
	if w.persisted {
		if err := w.d.discard(ctx, w.object, w.staging, "", w.tail, true); err != nil {
			return err
		}
	}
	if w.uploadID == "" {
		return w.d.putObject(ctx, w.object, w.buf)
	}
	if len(w.buf) > 0 || len(w.parts) == 0 {
		if err := w.sendLast(ctx); err != nil {
			return err
		}
	}
	completed := make([]types.CompletedPart, len(w.parts))
	for i, p := range w.parts {
		completed[i] = types.CompletedPart{ETag: aws.String(p.ETag), PartNumber: aws.Int32(p.Number)}
	}
	return w.d.completeUpload(ctx, w.object, w.uploadID, completed)
}

// release waits for the parts in flight and gives the buffers back.
func (w *fileWriter) release() {
	for _, u := range w.inflight {
		<-u.done
		w.d.putBuffer(u.buf)
	}
	w.inflight = nil
	w.d.putBuffer(w.buf)
	w.buf = nil
}

func (w *fileWriter) finished(op string) error {
	return wharf.Errorf(wharf.Internal, "%s on a %s writer for %s", op, w.state, w.key)
}

// getBuffer returns an empty buffer with room for a whole part.
func (d *Driver) getBuffer() []byte {
	if b, ok := d.parts.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, d.partSize)
}

// putBuffer keeps a whole-part buffer for the next writer.
func (d *Driver) putBuffer(b []byte) {
	if int64(cap(b)) == d.partSize {
		b = b[:0]
		d.parts.Put(&b)
	}
}

func (d *Driver) createUpload(ctx context.Context, object string) (string, error) {
	out, err := d.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &d.bucket, Key: &object})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.UploadId), nil
}

func (d *Driver) uploadPart(ctx context.Context, object, uploadID string, number int32, data []byte) (string, error) {
	out, err := d.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: &d.bucket, Key: &object, UploadId: &uploadID, PartNumber: &number,
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

func (d *Driver) completeUpload(ctx context.Context, object, uploadID string, parts []types.CompletedPart) error {
	slices.SortFunc(parts, func(a, b types.CompletedPart) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
	_, err := d.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &d.bucket, Key: &object, UploadId: &uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	return err
}

// abortUpload aborts a multipart upload; one that is gone already is fine.
func (d *Driver) abortUpload(ctx context.Context, object, uploadID string) error {
	_, err := d.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &d.bucket, Key: &object, UploadId: &uploadID})
	if err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
