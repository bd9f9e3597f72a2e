package s3

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/wharf-registry/wharf/internal/storage"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// List returns the objects and common prefixes directly below prefix,
// skipping names that are not keys (the staging directory).
func (d *Driver) List(ctx context.Context, prefix string) ([]string, error) {
	if err := storage.ValidPrefix(prefix); err != nil {
		return nil, err
	}
	if err := ctxErr(ctx, "list", prefix); err != nil {
		return nil, err
	}
	dir := d.dir(prefix)
	var keys, subdirs []string
	pages := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{
		Bucket: &d.bucket, Prefix: &dir, Delimiter: aws.String("/"),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wharf.Wrap(err, "s3: list "+prefix)
		}
		for _, p := range page.CommonPrefixes {
			if name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), dir), "/"); storage.ValidSegment(name) {
				subdirs = append(subdirs, path.Join(prefix, name))
			}
		}
		for _, o := range page.Contents {
			if name := strings.TrimPrefix(aws.ToString(o.Key), dir); storage.ValidSegment(name) {
				keys = append(keys, path.Join(prefix, name))
			}
		}
	}
	subdirs, err := d.nonEmpty(ctx, subdirs)
	if err != nil {
		return nil, wharf.Wrap(err, "s3: list "+prefix)
	}
	keys = append(keys, subdirs...)
	if len(keys) == 0 && prefix != "" {
		return nil, storage.NotFoundError(prefix, nil)
	}
	// An object and a prefix may share a name in S3; list it once.
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// nonEmpty returns the prefixes that hold at least one object, in order.
// Filer-backed servers (SeaweedFS) keep a "folder" after its last object is
// deleted and list it as a common prefix; AWS never does, at the price of
// one small listing per prefix, listConcurrency at a time.
func (d *Driver) nonEmpty(ctx context.Context, prefixes []string) ([]string, error) {
	keep := make([]bool, len(prefixes))
	errs := make([]error, len(prefixes))
	sem := make(chan struct{}, listConcurrency)
	var wg sync.WaitGroup
	for i, p := range prefixes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out, err := d.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
				Bucket: &d.bucket, Prefix: aws.String(d.dir(p)), MaxKeys: aws.Int32(1),
			})
			errs[i] = err
			keep[i] = err == nil && len(out.Contents) > 0
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []string
	for i, p := range prefixes {
		if keep[i] {
			out = append(out, p)
		}
	}
	return out, nil
}

// Move copies src over dst, server-side, then deletes src.
func (d *Driver) Move(ctx context.Context, src, dst string) error {
	if err := storage.ValidPath(dst); err != nil {
		return err
	}
	if err := check(ctx, "move", src); err != nil {
		return err
	}
	head, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: aws.String(d.object(src))})
	if err != nil {
		return objectError("move", src, err)
	}
	if src == dst {
		return nil
	}
	if size := aws.ToInt64(head.ContentLength); size > d.maxCopySize {
		err = d.copyMultipart(ctx, src, dst, size)
	} else {
		_, err = d.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket: &d.bucket, Key: aws.String(d.object(dst)), CopySource: d.copySource(src),
		})
	}
	if err != nil {
		return objectError("move", src, err)
	}
	if _, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: aws.String(d.object(src))}); err != nil {
		return wharf.Wrap(err, "s3: move "+src+": delete source")
	}
	return nil
}

// copyMultipart copies an object too large for one CopyObject in ranged
// UploadPartCopy parts of one multipart upload.
func (d *Driver) copyMultipart(ctx context.Context, src, dst string, size int64) error {
	dstObject := d.object(dst)
	id, err := d.createUpload(ctx, dstObject)
	if err != nil {
		return err
	}
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n, off = n+1, off+d.copyPartSize {
		end := min(off+d.copyPartSize, size) - 1
		out, err := d.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket: &d.bucket, Key: &dstObject, UploadId: &id, PartNumber: aws.Int32(n),
			CopySource: d.copySource(src), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
		})
		if err != nil {
			d.abortUpload(context.WithoutCancel(ctx), dstObject, id)
			return err
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
	}
	if err := d.completeUpload(ctx, dstObject, id, parts); err != nil {
		d.abortUpload(context.WithoutCancel(ctx), dstObject, id)
		return err
	}
	return nil
}

// Delete removes the object at key and every object below key/.
func (d *Driver) Delete(ctx context.Context, key string) error {
	if err := check(ctx, "delete", key); err != nil {
		return err
	}
	object := d.object(key)
	found := false
	if _, err := d.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &d.bucket, Key: &object}); err == nil {
		found = true
		if _, err := d.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &d.bucket, Key: &object}); err != nil {
			return wharf.Wrap(err, "s3: delete "+key)
		}
	} else if !isNotFound(err) {
		return wharf.Wrap(err, "s3: delete "+key)
	}
	n, err := d.deletePrefix(ctx, d.dir(key))
	if err != nil {
		return wharf.Wrap(err, "s3: delete "+key)
	}
	if !found && n == 0 {
		return storage.NotFoundError(key, nil)
	}
	return nil
}

// DeleteFiles removes the files at keys, a thousand per DeleteObjects
// call (storage.FilesDeleter). Missing keys are not an error.
func (d *Driver) DeleteFiles(ctx context.Context, keys []string) error {
	for _, key := range keys {
		if err := check(ctx, "delete", key); err != nil {
			return err
		}
	}
	for start := 0; start < len(keys); start += deleteBatch {
		batch := keys[start:min(start+deleteBatch, len(keys))]
		ids := make([]types.ObjectIdentifier, len(batch))
		for i, key := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(d.object(key))}
		}
		out, err := d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &d.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return wharf.Wrap(err, "s3: delete files")
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return wharf.Wrap(fmt.Errorf("delete %s: %s: %s (and %d more)", aws.ToString(e.Key), aws.ToString(e.Code),
				aws.ToString(e.Message), len(out.Errors)-1), "s3: delete files")
		}
	}
	return nil
}

// deletePrefix removes every object whose name starts with prefix, a page
// of listing at a time, and returns how many it removed.
func (d *Driver) deletePrefix(ctx context.Context, prefix string) (int, error) {
	removed := 0
	pages := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{
		Bucket: &d.bucket, Prefix: &prefix, MaxKeys: aws.Int32(deleteBatch),
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return removed, err
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		out, err := d.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &d.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return removed, err
		}
		if len(out.Errors) > 0 {
			e := out.Errors[0]
			return removed, fmt.Errorf("delete %s: %s: %s (and %d more)",
				aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)
		}
		removed += len(ids)
	}
	return removed, nil
}

// Walk lists every object below prefix, a page at a time, and calls fn for
// each one whose name is a key.
func (d *Driver) Walk(ctx context.Context, prefix string, fn func(storage.FileInfo) error) error {
	if err := storage.ValidPrefix(prefix); err != nil {
		return err
	}
	found := false
	pages := s3.NewListObjectsV2Paginator(d.client, &s3.ListObjectsV2Input{
		Bucket: &d.bucket, Prefix: aws.String(d.dir(prefix)),
	})
	for pages.HasMorePages() {
		if err := ctxErr(ctx, "walk", prefix); err != nil {
			return err
		}
		page, err := pages.NextPage(ctx)
		if err != nil {
			return wharf.Wrap(err, "s3: walk "+prefix)
		}
		for _, o := range page.Contents {
			key := strings.TrimPrefix(aws.ToString(o.Key), d.prefix)
			if storage.ValidPath(key) != nil {
				continue // the staging directory, or something not ours
			}
			found = true
			if err := fn(storage.FileInfo{Path: key, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)}); err != nil {
				return err
			}
		}
	}
	if !found && prefix != "" {
		return storage.NotFoundError(prefix, nil)
	}
	return nil
}
