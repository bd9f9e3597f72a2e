package registry

import (
	"bytes"
	"encoding/json"
	"mime"
	"strings"
)

// Manifest media types wharf stores.
const (
	mediaOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIIndex       = "application/vnd.oci.image.index.v1+json"
	mediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaOCIEmptyJSON   = "application/vnd.oci.empty.v1+json"
)

func isIndex(mediaType string) bool {
	return mediaType == mediaOCIIndex || mediaType == mediaDockerList
}

// maxManifestBytes bounds a manifest body, as other registries do.
const maxManifestBytes = 4 << 20

// descriptor is an OCI content descriptor.
type descriptor struct {
	MediaType    string            `json:"mediaType"`
	Digest       string            `json:"digest"`
	Size         int64             `json:"size"`
	URLs         []string          `json:"urls,omitempty"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// manifestDoc is the union of the image manifest and index shapes.
type manifestDoc struct {
	SchemaVersion *int              `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *descriptor       `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Manifests     []descriptor      `json:"manifests"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// parsedManifest is what the registry needs to know of a manifest.
type parsedManifest struct {
	mediaType    string
	artifactType string
	subject      Digest
	annotations  map[string]string
	blobs        []Digest // config and distributable layers, which must exist
	children     []Digest // manifests of an index, which must exist
}

// parseManifest validates body, sent with contentType, as an image
// manifest or index. The media type is the Content-Type's; a mediaType
// field in the body must agree with it.
func parseManifest(contentType string, body []byte) (*parsedManifest, error) {
	var doc manifestDoc
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return nil, ociError(errManifestInvalid, "manifest is not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, ociError(errManifestInvalid, "unexpected data after the manifest JSON")
	}
	if doc.SchemaVersion == nil || *doc.SchemaVersion != 2 {
		return nil, ociError(errManifestInvalid, "schemaVersion must be 2")
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case doc.MediaType != "" && mt != "" && mt != doc.MediaType && !genericType(mt):
		return nil, ociError(errManifestInvalid, "Content-Type %q does not match the manifest's mediaType %q", mt, doc.MediaType)
	case doc.MediaType != "":
		mt = doc.MediaType
	case genericType(mt) && doc.Manifests != nil:
		mt = mediaOCIIndex
	case genericType(mt):
		mt = mediaOCIManifest
	}
	p := &parsedManifest{mediaType: mt, artifactType: doc.ArtifactType, annotations: doc.Annotations}
	switch mt {
	case mediaOCIManifest, mediaDockerManifest:
		if doc.Config == nil {
			return nil, ociError(errManifestInvalid, "an image manifest needs a config descriptor")
		}
		if doc.Manifests != nil {
			return nil, ociError(errManifestInvalid, "an image manifest has no manifests list")
		}
		if err := p.addBlob(*doc.Config); err != nil {
			return nil, err
		}
		for _, l := range doc.Layers {
			if err := p.addBlob(l); err != nil {
				return nil, err
			}
		}
		if p.artifactType == "" && doc.Config.MediaType != mediaOCIEmptyJSON {
			// The referrers API reports the config type for artifacts that
			// predate artifactType.
			p.artifactType = doc.Config.MediaType
		}
	case mediaOCIIndex, mediaDockerList:
		if doc.Config != nil || doc.Layers != nil {
			return nil, ociError(errManifestInvalid, "an index has no config or layers")
		}
		for _, m := range doc.Manifests {
			d, err := checkDescriptor(m)
			if err != nil {
				return nil, err
			}
			p.children = append(p.children, d)
		}
	default:
		return nil, ociError(errManifestInvalid, "unsupported manifest media type %q", truncate(mt))
	}
	if doc.Subject != nil {
		d, err := checkDescriptor(*doc.Subject)
		if err != nil {
			return nil, err
		}
		p.subject = d
	}
	return p, nil
}

func genericType(mt string) bool {
	return mt == "" || mt == "application/json" || mt == "application/octet-stream"
}

func checkDescriptor(d descriptor) (Digest, error) {
	dg, err := ParseDigest(d.Digest)
	if err != nil {
		return "", ociError(errManifestInvalid, "descriptor digest: %s", err.(*registryError).message)
	}
	if d.Size < 0 {
		return "", ociError(errManifestInvalid, "descriptor %s has a negative size", d.Digest)
	}
	return dg, nil
}

// addBlob records a referenced blob. Non-distributable ("foreign") layers
// carry URLs and live elsewhere, so they need not exist here.
func (p *parsedManifest) addBlob(d descriptor) error {
	dg, err := checkDescriptor(d)
	if err != nil {
		return err
	}
	if len(d.URLs) > 0 || strings.Contains(d.MediaType, "nondistributable") || strings.Contains(d.MediaType, ".foreign.") {
		return nil
	}
	for _, b := range p.blobs {
		if b == dg {
			return nil
		}
	}
	p.blobs = append(p.blobs, dg)
	return nil
}
