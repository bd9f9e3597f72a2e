package registry

// Fuzz targets for every parser of untrusted /v2 input: the path, the
// manifest body, digests and Range headers. Run one with, e.g.,
//
//	go test ./internal/registry -run '^$' -fuzz FuzzParsePath -fuzztime 20s

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

func FuzzParsePath(f *testing.F) {
	h := strings.Repeat("a", 64)
	for _, s := range []string{
		"/v2/", "/v2/_catalog", "/v2/acme/app/manifests/latest", "/v2/acme/app/manifests/sha256:" + h,
		"/v2/acme/team/app/blobs/sha256:" + h, "/v2/acme/app/blobs/uploads/", "/v2/acme/app/blobs/uploads",
		"/v2/acme/app/blobs/uploads/6f1c0b7e-0000-4000-8000-000000000000", "/v2/acme/app/tags/list",
		"/v2/acme/app/referrers/sha256:" + h, "/v2/a/../b/manifests/x", "/v2/acme//app/tags/list", "/v2/app/tags/list",
		"/v2/Acme/App/tags/list", "/v2/a.b/c__d/e--f/manifests/v1.0", "/v2/blobs/uploads/blobs/uploads/", "/v2/a/b/tags/list/",
		"/v2/a/manifests/manifests/manifests", "/v2/a/b/blobs/uploads/../../x", "/v2", "/v1/a/b/tags/list", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, err := parsePath(path)
		if err != nil {
			checkRegistryError(t, err, "parsePath")
			return
		}
		if !strings.HasPrefix(path, "/v2/") {
			t.Fatalf("accepted %q, which is not under /v2/", path)
		}
		switch r.kind {
		case routeBase, routeCatalog:
			if r.namespace != "" || r.repo != "" || r.ref != "" {
				t.Fatalf("%q: base/catalog route with a name: %+v", path, r)
			}
			return
		}
		name := r.name()
		if len(name) > maxNameLength {
			t.Fatalf("%q: name of %d characters accepted", path, len(name))
		}
		comps := strings.Split(name, "/")
		if len(comps) < 2 {
			t.Fatalf("%q: single-component name %q accepted", path, name)
		}
		for _, c := range comps {
			if !componentPattern.MatchString(c) || c == "." || c == ".." || c == "" {
				t.Fatalf("%q: invalid component %q in accepted name %q", path, c, name)
			}
		}
		if r.namespace != comps[0] || strings.Contains(r.namespace, "/") {
			t.Fatalf("%q: namespace %q of name %q", path, r.namespace, name)
		}
		needsRef := r.kind == routeBlob || r.kind == routeManifest || r.kind == routeReferrers || r.kind == routeUpload
		if needsRef && r.ref == "" {
			t.Fatalf("%q: %v route without a reference", path, r.kind)
		}
		if strings.Contains(r.ref, "/") {
			t.Fatalf("%q: reference %q contains '/'", path, r.ref)
		}
		if !strings.HasPrefix(path, "/v2/"+name+"/") {
			t.Fatalf("%q: name %q is not the path's prefix", path, name)
		}
	})
}

// checkRegistryError fails unless err is a *registryError with a 4xx status.
func checkRegistryError(t *testing.T, err error, what string) {
	t.Helper()
	var re *registryError
	if !errors.As(err, &re) {
		t.Fatalf("%s: error %T %v is not a *registryError", what, err, err)
	}
	if re.code.status < 400 || re.code.status >= 500 {
		t.Fatalf("%s: error %v has status %d, want 4xx", what, err, re.code.status)
	}
}

func FuzzParseManifest(f *testing.F) {
	h := strings.Repeat("a", 64)
	image := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + h + `","size":7},` +
		`"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:` + h + `","size":32}]}`
	for _, s := range []struct{ ct, body string }{
		{mediaOCIManifest, image},
		{"", image},
		{"application/json", image},
		{mediaDockerManifest, strings.Replace(image, mediaOCIManifest, mediaDockerManifest, 1)},
		{mediaOCIIndex, `{"schemaVersion":2,"mediaType":"` + mediaOCIIndex + `","manifests":[{"mediaType":"` + mediaOCIManifest +
			`","digest":"sha512:` + h + h + `","size":10,"platform":{"os":"linux"}}]}`},
		{mediaDockerList, `{"schemaVersion":2,"mediaType":"` + mediaDockerList + `","manifests":[]}`},
		{"", `{"schemaVersion":2,"manifests":[]}`},
		{mediaOCIManifest, `{"schemaVersion":2,"artifactType":"application/x","config":{"mediaType":"` + mediaOCIEmptyJSON +
			`","digest":"sha256:` + h + `","size":2},"layers":[],"subject":{"mediaType":"` + mediaOCIManifest +
			`","digest":"sha256:` + h + `","size":1}}`},
		{mediaOCIManifest, `{"schemaVersion":2,"config":{"digest":"sha256:` + h + `"},"layers":[{"mediaType":` +
			`"application/vnd.oci.image.layer.nondistributable.v1.tar","digest":"sha256:` + h + `","urls":["http://x"]}]}`},
		{mediaOCIManifest, `{"schemaVersion":1}`},
		{mediaOCIManifest, `{"schemaVersion":2,"config":{"digest":"sha256:xyz","size":-1}}`},
		{mediaOCIManifest, `{"schemaVersion":2}{}`},
		{"text/plain; charset=utf-8", `[]`},
		{mediaOCIIndex, `null`},
		{"", ""},
	} {
		f.Add(s.ct, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		p, err := parseManifest(contentType, body)
		if err != nil {
			checkRegistryError(t, err, "parseManifest")
			return
		}
		switch p.mediaType {
		case mediaOCIManifest, mediaDockerManifest, mediaOCIIndex, mediaDockerList:
		default:
			t.Fatalf("accepted media type %q", p.mediaType)
		}
		for _, d := range append(append([]Digest{}, p.blobs...), p.children...) {
			if _, err := ParseDigest(d.String()); err != nil {
				t.Fatalf("accepted reference %q: %v", d, err)
			}
		}
		if p.subject != "" {
			if _, err := ParseDigest(p.subject.String()); err != nil {
				t.Fatalf("accepted subject %q: %v", p.subject, err)
			}
		}
		if isIndex(p.mediaType) && len(p.blobs) != 0 {
			t.Fatalf("an index references blobs %v", p.blobs)
		}
		if !isIndex(p.mediaType) && len(p.children) != 0 {
			t.Fatalf("an image manifest references manifests %v", p.children)
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	h := strings.Repeat("0123456789abcdef", 8)
	for _, s := range []string{"sha256:" + h[:64], "sha512:" + h, "sha256:" + strings.ToUpper(h[:64]), "sha256:" + h[:63],
		"sha384:" + h[:96], "sha256", ":", "", "sha256:" + h[:64] + "\n", "sha256:" + h[:62] + "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err != nil {
			checkRegistryError(t, err, "ParseDigest")
			var re *registryError
			if errors.As(err, &re) && re.code != errDigestInvalid {
				t.Fatalf("ParseDigest(%q): code %s, want DIGEST_INVALID", s, re.code.name)
			}
			return
		}
		if d.String() != s {
			t.Fatalf("ParseDigest(%q) = %q", s, d)
		}
		n, ok := digestAlgorithms[d.Algorithm()]
		if !ok || len(d.Hex()) != n || d.Algorithm()+":"+d.Hex() != s {
			t.Fatalf("ParseDigest(%q) accepted algorithm %q, hex %q", s, d.Algorithm(), d.Hex())
		}
		for _, c := range d.Hex() {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				t.Fatalf("ParseDigest(%q) accepted hex character %q", s, c)
			}
		}
		// A valid digest is a safe storage key and never a tag.
		if strings.ContainsAny(blobKey(d), "\\.:") || validTag(s) {
			t.Fatalf("ParseDigest(%q): key %q, tag %v", s, blobKey(d), validTag(s))
		}
	})
}

func FuzzParseRange(f *testing.F) {
	for _, s := range []struct {
		h    string
		size int64
	}{
		{"", 100}, {"bytes=0-9", 100}, {"bytes=90-", 100}, {"bytes=-10", 100}, {"bytes=-1000", 100}, {"bytes=95-200", 100},
		{"bytes=100-", 100}, {"bytes=5-2", 100}, {"bytes=0-0,5-6", 100}, {"bytes=-0", 100}, {"bytes=0-", 0}, {"bytes=-5", 0},
		{"bytes=0-9223372036854775807", 1 << 40}, {"bytes=-9223372036854775808", 10}, {"items=0-1", 10}, {"bytes=+1-2", 10},
	} {
		f.Add(s.h, s.size)
	}
	f.Fuzz(func(t *testing.T, header string, size int64) {
		if size < 0 {
			return // blob sizes come from the database and are never negative
		}
		start, end, partial, err := parseRange(header, size)
		if err != nil {
			checkRegistryError(t, err, "parseRange")
			var re *registryError
			if errors.As(err, &re) && re.code.status != http.StatusRequestedRangeNotSatisfiable {
				t.Fatalf("parseRange(%q, %d): status %d, want 416", header, size, re.code.status)
			}
			return
		}
		if !partial {
			if start != 0 || end != size {
				t.Fatalf("parseRange(%q, %d) = whole blob as [%d, %d)", header, size, start, end)
			}
			return
		}
		if !(0 <= start && start < end && end <= size) {
			t.Fatalf("parseRange(%q, %d) = [%d, %d), want 0 <= start < end <= size", header, size, start, end)
		}
	})
}
