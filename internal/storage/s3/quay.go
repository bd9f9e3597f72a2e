package s3

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// FromQuayParams maps the parameters of a Quay DISTRIBUTED_STORAGE_CONFIG
// location onto a Config. driverName is the location's driver:
//
//   - S3Storage: s3_bucket (required), storage_path, s3_access_key,
//     s3_secret_key, s3_region, and either endpoint_url (a full URL) or host
//     (no scheme) with an optional port; Quay talks https to host. Neither
//     means AWS.
//   - RadosGWStorage, and RHOCSStorage, which Quay treats the same:
//     hostname and bucket_name (required), is_secure, port, access_key,
//     secret_key, storage_path.
//
// Parameters Quay knows but wharf has no use for (CloudFront, chunk-size
// tuning, server_side_assembly) are ignored. Every problem found is in the
// one Invalid error it returns.
func FromQuayParams(driverName string, params map[string]any) (Config, error) {
	p := quayParams{params: params}
	var cfg Config
	switch driverName {
	case "S3Storage":
		cfg = Config{
			Bucket:        p.str("s3_bucket", true),
			RootDirectory: p.str("storage_path", false),
			AccessKey:     p.str("s3_access_key", false),
			SecretKey:     p.str("s3_secret_key", false),
			Region:        p.str("s3_region", false),
			Secure:        true,
		}
		endpoint, host, port := p.str("endpoint_url", false), p.str("host", false), p.port("port")
		switch {
		case endpoint != "":
			cfg.Endpoint = endpoint
		case strings.HasPrefix(host, "http:") || strings.HasPrefix(host, "https:"):
			p.problem("host must not start with http:// or https:// (use endpoint_url for a URL)")
		case host != "":
			cfg.Endpoint = joinHostPort(host, port)
		}
	case "RadosGWStorage", "RHOCSStorage":
		cfg = Config{
			Endpoint:      joinHostPort(p.str("hostname", true), p.port("port")),
			Secure:        p.boolean("is_secure"),
			Bucket:        p.str("bucket_name", true),
			RootDirectory: p.str("storage_path", false),
			AccessKey:     p.str("access_key", false),
			SecretKey:     p.str("secret_key", false),
		}
	default:
		return Config{}, wharf.Errorf(wharf.Invalid, "storage driver %q is not an S3 driver (S3Storage, RadosGWStorage, RHOCSStorage)", driverName)
	}
	if len(p.problems) > 0 {
		return Config{}, wharf.Errorf(wharf.Invalid, "%s: %s", driverName, strings.Join(p.problems, "; "))
	}
	return cfg, nil
}

func joinHostPort(host, port string) string {
	if host == "" || port == "" {
		return host
	}
	return host + ":" + port
}

// quayParams reads a location's parameters as YAML decoded them, noting
// every value of the wrong type. Messages never repeat a value: it may be a
// secret.
type quayParams struct {
	params   map[string]any
	problems []string
}

func (p *quayParams) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

func (p *quayParams) str(name string, required bool) string {
	v, ok := p.params[name]
	if !ok || v == nil {
		if required {
			p.problem("%s is required", name)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.problem("%s must be a string, got %T", name, v)
		return ""
	}
	if required && s == "" {
		p.problem("%s is required", name)
	}
	return s
}

// port accepts a number or a numeric string, as Quay's int(port) does.
func (p *quayParams) port(name string) string {
	var n int
	switch v := p.params[name].(type) {
	case nil:
		return ""
	case int:
		n = v
	case int64:
		n = int(v)
	case uint64:
		n = int(v)
	case float64:
		n = int(v)
		if float64(n) != v {
			n = -1
		}
	case string:
		if v == "" {
			return ""
		}
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			n = -1
		}
	default:
		n = -1
	}
	if n < 1 || n > 65535 {
		p.problem("%s must be a port number", name)
		return ""
	}
	return strconv.Itoa(n)
}

// boolean accepts a YAML boolean or the strings true/false.
func (p *quayParams) boolean(name string) bool {
	switch v := p.params[name].(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	p.problem("%s must be true or false", name)
	return false
}
