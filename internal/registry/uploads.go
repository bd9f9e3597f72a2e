package registry

import (
	"context"
	"crypto/rand"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/blobgc"
	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// copyBuffers are the large buffers uploads are copied through: fewer,
// larger writes to storage and the hash than io.Copy's 32 KiB.
var copyBuffers = sync.Pool{New: func() any {
	b := make([]byte, 1<<20)
	return &b
}}

func newUploadID() string {
	b := make([]byte, 16)
	rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// startUpload serves POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (?mount=&from=), a monolithic upload (?digest= with the body), or
// a new upload session for PATCH/PUT.
func (s *Server) startUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	repo, err := s.authorize(ctx, req, "push")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if mount := q.Get("mount"); mount != "" {
		d, err := ParseDigest(mount)
		if err != nil {
			return err
		}
		mounted, err := s.mount(ctx, req, repo, d, q.Get("from"))
		if err != nil || mounted != nil {
			if mounted != nil {
				blobCreated(w, req, d)
			}
			return err
		}
	}
	var d Digest
	if raw := q.Get("digest"); raw != "" {
		if d, err = ParseDigest(raw); err != nil {
			return err
		}
	}
	// Refusals come before the repository is created, so a refused push
	// leaves nothing behind: an upload adds at least one byte.
	if err := s.checkQuota(ctx, req, repo, max(r.ContentLength, 1)); err != nil {
		return err
	}
	if repo, err = s.ensureRepository(ctx, req, repo); err != nil {
		return err
	}
	u := &wharf.Upload{ID: newUploadID(), RepositoryID: repo.ID, AccountID: req.claims.AccountID, Algorithm: "sha256"}
	if d != "" {
		u.Algorithm = d.Algorithm()
	}
	// A monolithic upload is a session too, for its quota reservation
	// lives on the session until the blob is linked.
	if err := s.Store.CreateUpload(ctx, u); err != nil {
		return err
	}
	if d == "" {
		uploadAccepted(w, req, u, http.StatusAccepted)
		return nil
	}
	fw, h, err := s.receive(ctx, u, r.Body, r.ContentLength, r.Header.Get("Content-Range"))
	if err != nil {
		s.Store.DeleteUpload(context.WithoutCancel(ctx), u.ID)
		return err
	}
	return s.commit(w, r, req, repo, u, fw, h, d)
}

// anonymousMountCandidates bounds how many repositories holding a blob an
// anonymous mount (no from=) looks at for one the caller can read.
const anonymousMountCandidates = 20

// mount links blob d from repository from into repo when the caller may
// pull from and from has the blob. Without from, any repository holding the
// blob that the caller may pull will do (the spec's anonymous mount). nil
// (and no error) means "not mountable", and the caller falls back to an
// ordinary upload.
func (s *Server) mount(ctx context.Context, req *request, repo *wharf.Repository, d Digest, from string) (*wharf.Repository, error) {
	sources := []string{from}
	if from == "" {
		var err error
		if sources, err = s.Store.RepositoriesWithBlob(ctx, d.String(), anonymousMountCandidates); err != nil {
			return nil, err
		}
	}
	size := int64(-1)
	for _, name := range sources {
		src, err := parsePath("/v2/" + name + "/tags/list")
		if err != nil {
			continue
		}
		fromRepo, ok, err := s.mayPull(ctx, req.claims, src)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		n, err := s.Store.RepositoryBlobSize(ctx, fromRepo.ID, d.String())
		if wharf.IsCode(err, wharf.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		size = n
		break
	}
	if size < 0 {
		return nil, nil
	}
	repo, err := s.ensureRepository(ctx, req, repo)
	if err != nil {
		return nil, err
	}
	err = s.Store.LinkBlob(ctx, wharf.BlobLink{RepositoryID: repo.ID, Digest: d.String(), Size: size, Mount: true,
		DefaultReject: s.DefaultRejectQuotaBytes, Caller: s.actor(req)})
	if blobgc.IsCollecting(err) || wharf.IsCode(err, wharf.NotFound) {
		// Collected since the source was read: the client uploads the bytes.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return repo, nil
}

// checkQuota refuses to start an upload of size bytes into a namespace
// that cannot take them now. Uploads reserve what they write as they go
// (see receive); this spares the client an upload that cannot succeed.
func (s *Server) checkQuota(ctx context.Context, req *request, repo *wharf.Repository, size int64) error {
	nsID := int64(0)
	if repo != nil {
		nsID = repo.NamespaceID
	} else {
		ns, err := s.Store.AccountByName(ctx, req.route.namespace)
		if err != nil {
			return err
		}
		nsID = ns.ID
	}
	return s.Store.CheckQuota(ctx, nsID, size, s.DefaultRejectQuotaBytes)
}

// mayPull reports whether the holder of claims may read rt's repository
// (which must exist): by the token's grant, because it is public, or
// because the holder could be granted it. A build worker's token is judged
// by its grants alone.
func (s *Server) mayPull(ctx context.Context, claims *auth.RegistryClaims, rt route) (*wharf.Repository, bool, error) {
	repo, err := s.Store.RepositoryByName(ctx, rt.namespace, rt.repo)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if repo.Visibility == wharf.Public || claims.AllowsRepository(rt.name(), repo, "pull") {
		return repo, true, nil
	}
	d, err := s.holderDecision(ctx, claims, rt)
	return repo, d.Read, err
}

// upload loads the session in req's path, which must belong to the same
// repository and the same account: nobody else may read, extend or
// cancel it.
func (s *Server) upload(ctx context.Context, req *request) (*wharf.Repository, *wharf.Upload, error) {
	repo, err := s.authorize(ctx, req, "push")
	if err != nil {
		return nil, nil, err
	}
	unknown := ociError(errBlobUploadUnknown, "blob upload unknown to registry")
	if repo == nil || len(req.route.ref) > 64 {
		return nil, nil, unknown
	}
	u, err := s.Store.UploadByID(ctx, req.route.ref)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil, unknown
	}
	if err != nil {
		return nil, nil, err
	}
	if u.RepositoryID != repo.ID || u.AccountID != req.claims.AccountID {
		return nil, nil, unknown
	}
	return repo, u, nil
}

// A request claims an upload before it writes (ClaimUpload), so that two
// requests never interleave their bytes. The claim lasts uploadClaimTTL
// and the request renews it every third of that while it runs, for
// uploadClaimMax at most: a writer whose process died keeps other writers
// out for uploadClaimTTL, after which the client goes on with the same
// upload through any process.
const (
	uploadClaimTTL = 30 * time.Second
	uploadClaimMax = 6 * time.Hour
)

// claim makes this request the upload's only writer and keeps it so until
// stopped. The returned context, which the request must write under, ends
// if the claim is lost: not renewed in time, or held past uploadClaimMax.
func (s *Server) claim(ctx context.Context, u *wharf.Upload) (context.Context, *uploadClaim, error) {
	start := s.Now()
	until := start.Add(uploadClaimTTL)
	ok, err := s.Store.ClaimUpload(ctx, u, until)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, ociError(errRangeInvalid, "another request is writing to this upload, or it changed since it was read")
	}
	ctx, lost := context.WithCancelCause(ctx)
	c := &uploadClaim{s: s, ctx: ctx, id: u.ID, stopping: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(c.stopped)
		t := time.NewTicker(uploadClaimTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-c.stopping:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			next := s.Now().Add(uploadClaimTTL)
			if next.Sub(start) > uploadClaimMax {
				c.lost = true
				lost(ociError(errBlobUploadInvalid, "a request may write to an upload for %v at most", uploadClaimMax))
				return
			}
			ok, err := s.Store.RenewUploadClaim(ctx, u.ID, until, next)
			if err != nil || !ok {
				c.lost = true
				lost(ociError(errBlobUploadInvalid, "this request lost its claim on the upload (%v)", err))
				return
			}
			until = next
		}
	}()
	return ctx, c, nil
}

// uploadClaim is a request's claim on an upload, renewed until stopped.
type uploadClaim struct {
	s        *Server
	ctx      context.Context
	id       string
	once     sync.Once
	stopping chan struct{}
	stopped  chan struct{}
	lost     bool // set by the renewals, read once they stopped
}

// stop ends the renewals; the claim itself ends with the session's update
// or deletion, or lapses.
func (c *uploadClaim) stop() {
	c.once.Do(func() { close(c.stopping) })
	<-c.stopped
}

// release stops the renewals and gives the claim up, for a request that
// failed without ending the upload; a claim already lost may be another
// request's now, and is left alone.
func (c *uploadClaim) release() {
	c.stop()
	if !c.lost {
		c.s.Store.ReleaseUpload(context.WithoutCancel(c.ctx), c.id)
	}
}

// claimed is err, or, when the request stopped because its claim was
// lost, why.
func claimed(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// receive appends body (length bytes, -1 when unknown) to u's data and
// returns the still-open writer and the running hash. A Content-Range,
// when given, must start where the data ends. Every byte is reserved
// against the namespace's quota before it is written: a body of known
// length at once (refused, the upload keeps nothing of it), one of unknown
// length as it streams (refused midway, the upload is abandoned). On any
// failure while writing the upload is abandoned: its data is discarded.
func (s *Server) receive(ctx context.Context, u *wharf.Upload, body io.Reader, length int64, contentRange string) (storage.FileWriter, hash.Hash, error) {
	if contentRange != "" {
		start, _, ok := parseContentRange(contentRange)
		if !ok || start != u.Size {
			return nil, nil, ociError(errRangeInvalid, "Content-Range %q does not continue the upload at byte %d", truncate(contentRange), u.Size)
		}
	}
	h := newHash(u.Algorithm)
	if u.Size > 0 {
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.HashState); err != nil {
			return nil, nil, wharf.Wrap(err, "restore upload hash")
		}
	}
	q := &quotaReader{ctx: ctx, s: s, upload: u.ID, r: body, limited: true}
	if body != nil && length >= 0 {
		if err := q.reserve(length); err != nil {
			return nil, nil, err
		}
	}
	fw, err := s.Blobs.Writer(ctx, uploadKey(u.ID), u.Size > 0)
	if wharf.IsCode(err, wharf.NotFound) {
		return nil, nil, ociError(errRangeInvalid, "another request is writing to this upload")
	}
	if err != nil {
		return nil, nil, err
	}
	if fw.Size() != u.Size {
		// Another request appended since this one read the session: its
		// hash state no longer describes the data, so it must not write.
		fw.Close()
		return nil, nil, ociError(errRangeInvalid, "the upload changed while this request was being read; it holds %d bytes", fw.Size())
	}
	if body != nil {
		buf := copyBuffers.Get().(*[]byte)
		_, err := io.CopyBuffer(io.MultiWriter(fw, h), q, *buf)
		copyBuffers.Put(buf)
		if err != nil {
			fw.Cancel(context.WithoutCancel(ctx))
			s.Store.DeleteUpload(context.WithoutCancel(ctx), u.ID)
			if q.refused != nil {
				return nil, nil, q.refused
			}
			return nil, nil, ociError(errBlobUploadInvalid, "upload interrupted: %v", err)
		}
	}
	u.Size = fw.Size()
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		fw.Cancel(context.WithoutCancel(ctx))
		return nil, nil, wharf.Wrap(err, "save upload hash")
	}
	u.HashState = state
	return fw, h, nil
}

// parseContentRange reads "start-end" (or "bytes start-end/total").
func parseContentRange(v string) (start, end int64, ok bool) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "bytes ")
	v, _, _ = strings.Cut(v, "/")
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || start < 0 || end < start {
		return 0, 0, false
	}
	return start, end, true
}

// patchUpload serves PATCH: one more chunk.
func (s *Server) patchUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	_, u, err := s.upload(r.Context(), req)
	if err != nil {
		return err
	}
	ctx, cl, err := s.claim(r.Context(), u)
	if err != nil {
		return err
	}
	fw, _, err := s.receive(ctx, u, r.Body, r.ContentLength, r.Header.Get("Content-Range"))
	if err == nil {
		err = fw.Close()
	}
	if err == nil {
		cl.stop() // before the update, which ends the claim
		err = s.Store.UpdateUpload(ctx, u)
	}
	if err != nil {
		// Not held until it lapses: the next request is told what the
		// upload holds (receive compares it with the session) instead.
		cl.release()
		return claimed(ctx, err)
	}
	uploadAccepted(w, req, u, http.StatusAccepted)
	return nil
}

// finishUpload serves PUT ?digest=: the last chunk (if any), then the
// digest check and the commit.
func (s *Server) finishUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	ctx := r.Context()
	repo, u, err := s.upload(ctx, req)
	if err != nil {
		return err
	}
	d, err := ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		return err
	}
	ctx, cl, err := s.claim(ctx, u)
	if err != nil {
		return err
	}
	if u.Size == 0 {
		u.Algorithm = d.Algorithm()
	}
	fw, h, err := s.receive(ctx, u, r.Body, r.ContentLength, r.Header.Get("Content-Range"))
	if err != nil {
		cl.release()
		return claimed(ctx, err)
	}
	// The commit ends the session, or abandons it.
	err = s.commit(w, r.WithContext(ctx), req, repo, u, fw, h, d)
	cl.stop()
	return claimed(ctx, err)
}

// commit verifies that the upload's bytes have digest d, makes them the
// content-addressed blob (once, however many uploads carried it), links it
// to the repository and ends the session. Nothing becomes visible unless
// the digest matches.
func (s *Server) commit(w http.ResponseWriter, r *http.Request, req *request, repo *wharf.Repository, u *wharf.Upload,
	fw storage.FileWriter, h hash.Hash, d Digest) error {
	ctx := r.Context()
	abandon := func() {
		fw.Cancel(context.WithoutCancel(ctx))
		s.Store.DeleteUpload(context.WithoutCancel(ctx), u.ID)
	}
	if err := fw.Commit(ctx); err != nil {
		abandon()
		return err
	}
	got := Digest(u.Algorithm + ":" + hex.EncodeToString(h.Sum(nil)))
	if u.Algorithm != d.Algorithm() {
		// The chunks were hashed before the client named its algorithm.
		var err error
		if got, err = s.digestStored(ctx, uploadKey(u.ID), d.Algorithm()); err != nil {
			s.discard(ctx, u)
			return err
		}
	}
	if got != d {
		s.discard(ctx, u)
		return ociError(errDigestInvalid, "uploaded content has digest %s, not %s", got, d)
	}
	// The pin comes before blobs/<digest> is looked at: from here until
	// the link the collector leaves the blob alone (see package blobgc).
	if err := s.pinBlob(ctx, u, d); err != nil {
		abandon()
		return err
	}
	if _, err := s.Blobs.Stat(ctx, blobKey(d)); err == nil {
		s.Blobs.Delete(context.WithoutCancel(ctx), "uploads/"+u.ID)
	} else if !wharf.IsCode(err, wharf.NotFound) {
		return err
	} else if err := s.Blobs.Move(ctx, uploadKey(u.ID), blobKey(d)); err != nil {
		return err
	}
	// The link ends the session and its reservation in one transaction.
	if err := s.Store.LinkBlob(ctx, wharf.BlobLink{RepositoryID: repo.ID, Digest: d.String(), Size: u.Size, UploadID: u.ID,
		DefaultReject: s.DefaultRejectQuotaBytes, Caller: s.actor(req)}); err != nil {
		return err
	}
	blobCreated(w, req, d)
	return nil
}

// pinCollectingWait is how often a pin that met a blob being collected
// tries again.
const pinCollectingWait = 20 * time.Millisecond

// pinBlob pins blob d for upload u, waiting while a collector removes the
// blob: its bytes are stored again after the removal. The wait ends within
// blobgc.DoomTTL, when a doom left by a collector that died is taken back.
func (s *Server) pinBlob(ctx context.Context, u *wharf.Upload, d Digest) error {
	for {
		err := s.Store.PinBlob(ctx, u.ID, d.String(), u.Size, s.Now().Add(-blobgc.DoomTTL))
		if !blobgc.IsCollecting(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pinCollectingWait):
		}
	}
}

// discard removes an upload's committed data and its session.
func (s *Server) discard(ctx context.Context, u *wharf.Upload) {
	ctx = context.WithoutCancel(ctx)
	s.Blobs.Delete(ctx, "uploads/"+u.ID)
	s.Store.DeleteUpload(ctx, u.ID)
}

// digestStored hashes the content at key with algorithm.
func (s *Server) digestStored(ctx context.Context, key, algorithm string) (Digest, error) {
	rd, err := s.Blobs.Reader(ctx, key, 0)
	if err != nil {
		return "", err
	}
	defer rd.Close()
	h := newHash(algorithm)
	if _, err := io.Copy(h, rd); err != nil {
		return "", wharf.Wrap(err, "hash upload")
	}
	return Digest(algorithm + ":" + hex.EncodeToString(h.Sum(nil))), nil
}

// uploadStatus serves GET of an upload: how much has arrived.
func (s *Server) uploadStatus(w http.ResponseWriter, r *http.Request, req *request) error {
	_, u, err := s.upload(r.Context(), req)
	if err != nil {
		return err
	}
	uploadAccepted(w, req, u, http.StatusNoContent)
	return nil
}

// cancelUpload serves DELETE of an upload: its data and session go.
func (s *Server) cancelUpload(w http.ResponseWriter, r *http.Request, req *request) error {
	_, u, err := s.upload(r.Context(), req)
	if err != nil {
		return err
	}
	if fw, err := s.Blobs.Writer(r.Context(), uploadKey(u.ID), u.Size > 0); err == nil {
		fw.Cancel(r.Context())
	}
	if err := s.Store.DeleteUpload(r.Context(), u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func uploadAccepted(w http.ResponseWriter, req *request, u *wharf.Upload, status int) {
	h := w.Header()
	h.Set("Location", "/v2/"+req.route.name()+"/blobs/uploads/"+u.ID)
	h.Set("Docker-Upload-UUID", u.ID)
	end := u.Size - 1
	if end < 0 {
		end = 0
	}
	h.Set("Range", fmt.Sprintf("0-%d", end))
	h.Set("Content-Length", "0")
	w.WriteHeader(status)
}

func blobCreated(w http.ResponseWriter, req *request, d Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+req.route.name()+"/blobs/"+d.String())
	h.Set("Docker-Content-Digest", d.String())
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}
