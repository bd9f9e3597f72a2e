package build

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/wharf-registry/wharf/internal/auth"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// RegistryEndpoint is how workers reach wharf's registry.
type RegistryEndpoint struct {
	// URL is the registry's base URL (scheme and host[:port]).
	URL *url.URL
	// ServerHostname is the name clients use for this registry
	// (SERVER_HOSTNAME); FROM lines naming it are pulled through URL.
	ServerHostname string
}

// For returns what one build's executor needs to talk to the registry.
func (e RegistryEndpoint) For(b *wharf.Build, token string) Registry {
	return Registry{Host: e.URL.Host, Insecure: e.URL.Scheme == "http", ServerHostname: e.ServerHostname,
		Username: auth.BuildTokenUsername, Password: token, Repository: b.Repository.Namespace + "/" + b.Repository.Name,
		Tags: b.Job.DockerTags}
}

// Registry is the registry as one build sees it.
type Registry struct {
	Host           string // host[:port] to connect to
	Insecure       bool   // plain HTTP
	ServerHostname string
	Username       string
	Password       string
	Repository     string // namespace/name the build pushes to
	Tags           []string
}

// Targets are the references the build's image is pushed to.
func (r Registry) Targets() []string {
	out := make([]string, len(r.Tags))
	for i, t := range r.Tags {
		out[i] = r.Host + "/" + r.Repository + ":" + t
	}
	return out
}

// Resolve turns a FROM reference into the reference to pull: a reference
// without a registry, or naming this registry by its SERVER_HOSTNAME, is
// pulled from this registry; local reports that. Others name a remote
// registry, reached through the outbound URL policy.
func (r Registry) Resolve(ref string) (n name.Reference, local bool, err error) {
	opts := []name.Option{name.WithDefaultRegistry(r.Host), name.StrictValidation}
	n, err = name.ParseReference(ref, append(opts, name.WithDefaultTag("latest"))...)
	if err != nil {
		// StrictValidation refuses a missing tag; retry allowing it.
		n, err = name.ParseReference(ref, name.WithDefaultRegistry(r.Host))
	}
	if err != nil {
		return nil, false, wharf.Errorf(wharf.Invalid, "invalid image reference %q: %v", ref, err)
	}
	reg := n.Context().RegistryStr()
	if !hasRegistry(ref) || reg == r.Host || (r.ServerHostname != "" && reg == r.ServerHostname) {
		local = true
		repo := n.Context().RepositoryStr()
		opts := []name.Option{}
		if r.Insecure {
			opts = append(opts, name.Insecure)
		}
		switch v := n.(type) {
		case name.Digest:
			n, err = name.NewDigest(r.Host+"/"+repo+"@"+v.DigestStr(), opts...)
		case name.Tag:
			n, err = name.NewTag(r.Host+"/"+repo+":"+v.TagStr(), opts...)
		}
	}
	return n, local, err
}

// hasRegistry reports whether ref names a registry, by Docker's rule: a
// first component with a '.' or ':' or equal to "localhost".
func hasRegistry(ref string) bool {
	first, _, ok := strings.Cut(ref, "/")
	return ok && (strings.ContainsAny(first, ".:") || first == "localhost")
}

func newGet(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid Archive URL: %v", err)
	}
	return req, nil
}
