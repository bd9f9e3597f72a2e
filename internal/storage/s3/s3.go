// Package s3 is the storage.Driver for an S3-compatible object store (AWS S3,
// Ceph RadosGW, SeaweedFS, MinIO). Keys map one-to-one onto object names
// below an optional root directory inside one bucket:
//
//	<bucket>/<root>/
//	  blobs/sha256/ab/abcdef…       committed files, named by their keys
//	  uploads/<uuid>/data
//	  .wharf~uploads/               private; never a key ("~" is not allowed in keys)
//	    <sha256(key)>/state         a FileWriter left by Close: its multipart
//	                                upload id and completed parts (JSON)
//	    <sha256(key)>/tail-<rand>   the bytes after the last part, too few
//	                                (< 5 MiB) to be a part of their own
//
// A FileWriter streams into an S3 multipart upload on the key itself, one
// part (Config.PartSize) at a time with at most two parts in flight, so a
// writer holds at most three part buffers however large the file. Until
// Commit the object does not exist; Commit completes the multipart upload
// (or, for data smaller than a part, makes one PutObject), so the whole
// object appears in one step. Close keeps the upload open and writes the
// state object, so a later Writer(key, appendTo=true) resumes it; Cancel
// aborts it. PurgeStaging removes what abandoned writers leave.
//
// Directories do not exist in S3: a prefix is there while some object lies
// below it, which is exactly the storage contract. List uses the "/"
// delimiter; Walk lists everything below a prefix.
package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

const (
	// MinPartSize is the smallest part S3 accepts in a multipart upload,
	// except for the last one.
	MinPartSize = 5 << 20
	// DefaultPartSize is the part size when Config.PartSize is 0: a writer
	// holds at most three such buffers (24 MiB).
	DefaultPartSize = 8 << 20
	// maxPartSize is the largest part, and the largest single CopyObject,
	// S3 accepts.
	maxPartSize = 5 << 30
	// defaultRegion signs requests when Config.Region is empty; S3-compatible
	// servers accept it, and AWS redirects nothing for path-style requests
	// to a regional endpoint.
	defaultRegion = "us-east-1"
	// stagingDir holds writers' private state below the root. Its name is
	// not a valid key segment, so no key can reach it and listings skip it.
	stagingDir = ".wharf~uploads"
	// deleteBatch is the most keys one DeleteObjects call may carry.
	deleteBatch = 1000
	// listConcurrency bounds the listings List runs at once to check
	// that the prefixes it found still hold objects.
	listConcurrency = 8
	// cleanupTimeout bounds the S3 calls that Close and a failed Commit make
	// after the writer's context may already be done.
	cleanupTimeout = 2 * time.Minute
)

// Config locates a bucket and says how to reach it.
type Config struct {
	// Endpoint is the S3 server: a URL ("http://127.0.0.1:8333") or a
	// host[:port], whose scheme Secure then picks. Empty means AWS, found
	// through Region; any other endpoint is addressed path-style.
	Endpoint string
	// Region signs requests; "" means us-east-1.
	Region string
	// Bucket holds the data; New creates it when it is missing.
	Bucket string
	// AccessKey and SecretKey are static credentials; both empty means
	// anonymous requests.
	AccessKey string
	SecretKey string
	// RootDirectory is the prefix inside the bucket that holds every key,
	// e.g. "/datastorage/registry"; leading and trailing slashes are ignored.
	RootDirectory string
	// Secure picks https for an Endpoint given without a scheme.
	Secure bool
	// PartSize is the multipart part size in bytes (at least MinPartSize);
	// 0 means DefaultPartSize. A writer buffers at most three parts.
	PartSize int64
}

// Driver stores keys as objects in one bucket below a root directory. It is
// safe for concurrent use, also by several processes sharing the bucket.
type Driver struct {
	client   *s3.Client
	bucket   string
	prefix   string // root directory plus "/", or "" for the bucket's top
	partSize int64
	parts    sync.Pool // *[]byte of capacity partSize, reused by writers

	// maxCopySize is the largest object Move copies in one CopyObject;
	// larger ones are copied in copyPartSize parts. Tests lower both.
	maxCopySize  int64
	copyPartSize int64
}

var _ storage.Driver = (*Driver)(nil)

// New returns a driver for cfg's bucket, creating the bucket if it is
// missing, so that a bad endpoint or credentials fail at start-up.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	if cfg.Bucket == "" {
		return nil, wharf.Errorf(wharf.Invalid, "s3: bucket is empty")
	}
	partSize := cfg.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < MinPartSize || partSize > maxPartSize {
		return nil, wharf.Errorf(wharf.Invalid, "s3: part size %d is outside [%d, %d]", partSize, MinPartSize, maxPartSize)
	}
	endpoint, err := endpointURL(cfg.Endpoint, cfg.Secure)
	if err != nil {
		return nil, err
	}
	region := cfg.Region
	if region == "" {
		region = defaultRegion
	}
	opts := s3.Options{
		Region:       region,
		UsePathStyle: endpoint != "",
		// S3-compatible servers differ in which checksum headers they
		// understand; send and check them only where the API requires it.
		RequestChecksumCalculation:                aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation:                aws.ResponseChecksumValidationWhenRequired,
		DisableLogOutputChecksumValidationSkipped: true,
	}
	if endpoint != "" {
		opts.BaseEndpoint = aws.String(endpoint)
	}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		creds := aws.Credentials{AccessKeyID: cfg.AccessKey, SecretAccessKey: cfg.SecretKey, Source: "wharf config"}
		opts.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
	} else {
		opts.Credentials = aws.AnonymousCredentials{}
	}
	d := &Driver{
		client:       s3.New(opts),
		bucket:       cfg.Bucket,
		prefix:       rootPrefix(cfg.RootDirectory),
		partSize:     partSize,
		maxCopySize:  maxPartSize,
		copyPartSize: 1 << 30,
	}
	if err := d.ensureBucket(ctx, region, endpoint == ""); err != nil {
		return nil, err
	}
	return d, nil
}

// endpointURL turns Config.Endpoint into the base URL the SDK wants.
func endpointURL(endpoint string, secure bool) (string, error) {
	if endpoint == "" {
		return "", nil
	}
	if !strings.Contains(endpoint, "://") {
		scheme := "http"
		if secure {
			scheme = "https"
		}
		endpoint = scheme + "://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", wharf.Errorf(wharf.Invalid, "s3: endpoint %q is not an http(s) URL or host[:port]", endpoint)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func rootPrefix(root string) string {
	root = strings.Trim(root, "/")
	if root == "" {
		return ""
	}
	return root + "/"
}

// ensureBucket creates the bucket unless it is there already.
func (d *Driver) ensureBucket(ctx context.Context, region string, onAWS bool) error {
	_, err := d.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &d.bucket})
	if err == nil {
		return nil
	}
	if httpStatus(err) != 404 {
		return wharf.Wrap(err, "s3: head bucket "+d.bucket)
	}
	in := &s3.CreateBucketInput{Bucket: &d.bucket}
	if onAWS && region != defaultRegion {
		in.CreateBucketConfiguration = &types.CreateBucketConfiguration{
			LocationConstraint: types.BucketLocationConstraint(region),
		}
	}
	_, err = d.client.CreateBucket(ctx, in)
	var owned *types.BucketAlreadyOwnedByYou
	if err != nil && !errors.As(err, &owned) {
		return wharf.Wrap(err, "s3: create bucket "+d.bucket)
	}
	return nil
}

// Name returns "s3".
func (d *Driver) Name() string { return "s3" }

// GetContent returns the object at key; NotFound if there is none.
func (d *Driver) GetContent(ctx context.Context, key string) ([]byte, error) {
	if err := check(ctx, "get", key); err != nil {
		return nil, err
	}
	out, err := d.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &d.bucket, Key: aws.String(d.object(key))})
	if err != nil {
		return nil, objectError("get", key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(out.ContentLength); n > 0 {
		buf.Grow(int(n))
	}
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return nil, wharf.Wrap(err, "s3: read "+key)
	}
	return buf.Bytes(), nil
}

// PutContent stores content at key in one PutObject, which replaces any
// object there atomically.
func (d *Driver) PutContent(ctx context.Context, key string, content []byte) error {
	if err := check(ctx, "put", key); err != nil {
		return err
	}
	return d.putObject(ctx, d.object(key), content)
}

func (d *Driver) putObject(ctx context.Context, object string, content []byte) error {
	_, err := d.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        &d.bucket,
		Key:           &object,
		Body:          bytes.NewReader(content),
		ContentLength: aws.Int64(int64(len(content))),
	})
	if err != nil {
		return wharf.Wrap(err, "s3: put "+object)
	}
	return nil
}

// Reader streams the object at key from offset with a ranged GetObject.
func (d *Driver) Reader(ctx context.Context, key string, offset int64) (io.ReadCloser, error) {
	if err := check(ctx, "read", key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, wharf.Errorf(wharf.Invalid, "offset %d outside %s", offset, key)
	}
	in := &s3.GetObjectInput{Bucket: &d.bucket, Key: aws.String(d.object(key))}
	if offset > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", offset))
	}
	out, err := d.client.GetObject(ctx, in)
	if err == nil {
		return &objectReader{ctx: ctx, body: out.Body}, nil
	}
	if httpStatus(err) != 416 {
		return nil, objectError("read", key, err)
	}
	// The range starts at or past the end: fine at the end, Invalid after.
	fi, serr := d.Stat(ctx, key)
	switch {
	case serr != nil:
		return nil, serr
	case fi.IsDir:
		return nil, storage.NotFoundError(key, errors.New("a prefix is not a file"))
	case offset == fi.Size:
		return io.NopCloser(strings.NewReader("")), nil
	default:
		return nil, wharf.Errorf(wharf.Invalid, "offset %d outside %s (size %d)", offset, key, fi.Size)
	}
}

// Stat describes the object at key or, failing that, the prefix key/.
func (d *Driver) Stat(ctx context.Context, key string) (storage.FileInfo, error) {
	if err := check(ctx, "stat", key); err != nil {
		return storage.FileInfo{}, err
	}
	head, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: aws.String(d.object(key))})
	if err == nil {
		return storage.FileInfo{Path: key, Size: aws.ToInt64(head.ContentLength), ModTime: aws.ToTime(head.LastModified)}, nil
	}
	if !isNotFound(err) {
		return storage.FileInfo{}, wharf.Wrap(err, "s3: stat "+key)
	}
	out, err := d.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: &d.bucket, Prefix: aws.String(d.dir(key)), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return storage.FileInfo{}, wharf.Wrap(err, "s3: stat "+key)
	}
	if len(out.Contents) == 0 {
		return storage.FileInfo{}, storage.NotFoundError(key, nil)
	}
	return storage.FileInfo{Path: key, IsDir: true}, nil
}

// object is the object name of a validated key.
func (d *Driver) object(key string) string { return d.prefix + key }

// dir is the object-name prefix of everything below key ("" for the root).
func (d *Driver) dir(key string) string {
	if key == "" {
		return d.prefix
	}
	return d.prefix + key + "/"
}

// staging is the object-name prefix of the private state of key's writer.
// Hashing the key gives bounded names and keeps "a" and "a/b" apart.
func (d *Driver) staging(key string) string {
	sum := sha256.Sum256([]byte(key))
	return d.prefix + stagingDir + "/" + hex.EncodeToString(sum[:]) + "/"
}

// copySource names key's object for CopyObject: bucket/name, URL-escaped.
func (d *Driver) copySource(key string) *string {
	segs := strings.Split(d.bucket+"/"+d.object(key), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return aws.String(strings.Join(segs, "/"))
}

// objectReader streams a GetObject body and stops once ctx is done.
type objectReader struct {
	// ctx is the one Reader was called with: io.Reader has no context
	// parameter, and the contract says the stream stops once it is done.
	ctx  context.Context
	body io.ReadCloser
}

func (r *objectReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("s3: read: %w", err)
	}
	n, err := r.body.Read(p)
	if err != nil && err != io.EOF {
		if cerr := r.ctx.Err(); cerr != nil {
			return n, fmt.Errorf("s3: read: %w", cerr)
		}
		return n, wharf.Wrap(err, "s3: read")
	}
	return n, err
}

func (r *objectReader) Close() error { return r.body.Close() }

// check validates key and ctx, the preamble of every single-key method.
func check(ctx context.Context, op, key string) error {
	if err := storage.ValidPath(key); err != nil {
		return err
	}
	return ctxErr(ctx, op, key)
}

func ctxErr(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("s3: %s %s: %w", op, key, err)
	}
	return nil
}

// objectError translates an S3 error about key's object into the contract.
func objectError(op, key string, err error) error {
	if isNotFound(err) {
		return storage.NotFoundError(key, err)
	}
	return wharf.Wrap(err, "s3: "+op+" "+key)
}

// isNotFound reports a missing object or upload, by S3 error code or, for
// responses without a body (HEAD), by status; a missing bucket is not a
// missing key.
func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchUpload":
			return true
		case "NoSuchBucket":
			return false
		}
	}
	return httpStatus(err) == 404
}

// httpStatus returns the HTTP status of a failed S3 call, or 0.
func httpStatus(err error) int {
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
