// Package servicekey is wharf's service-key domain (Quay's service keys):
// RSA keys that services sign JWTs with, managed by superusers and by the
// services themselves through the key server, and the verification of the
// JWTs they sign. It knows nothing of HTTP; storage is behind Store.
//
// A key's life:
//
//	superuser createServiceKey ──► approved (private key shown once, never stored)
//	key server PUT, self-signed ──► unapproved ──approveServiceKey──► approved
//	    (refused past 50 unapproved keys of the service or 10 of the client address)
//	key server PUT, signed by an approved key ──► replaces it, keeps its approval
//	approved ──expiration passes──► expired ──EXPIRED_SERVICE_KEY_TTL──► stale: hidden, then removed
//	unapproved ──UNAPPROVED_SERVICE_KEY_TTL──► stale: removed
//
// Only an approved, unexpired key of a service makes a JWT of that service
// valid (Verifier). Stale keys are removed whenever a key of the same service
// is created or deleted (as Quay does) and by the background job (Collect).
//
// Every change is validated completely before anything is written, and is
// stored together with its action-log entries (service_key_create, _approve,
// _modify, _extend, _delete, _rotate) in one transaction. A change is decided
// on the key as read and stored only over the key as read: when another
// change came first, the key is read and the change decided again.
package servicekey

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"maps"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// Quay's defaults for the configuration keys that govern stale keys.
const (
	// DefaultUnapprovedTTL is UNAPPROVED_SERVICE_KEY_TTL_SEC (86400).
	DefaultUnapprovedTTL = 24 * time.Hour
	// DefaultExpiredTTL is EXPIRED_SERVICE_KEY_TTL_SEC (604800).
	DefaultExpiredTTL = 7 * 24 * time.Hour
)

// Caps on the keys awaiting approval (wharf's; Quay has none). The key
// server takes a self-signed key from anyone who holds an RSA key, and each
// one is a row, a service_key_create log entry and a line in the superusers'
// listing until it is approved or UNAPPROVED_SERVICE_KEY_TTL removes it:
// uncapped, one key self-signed 2,000 kids in seconds. A service submits a
// key when an instance starts or rotates, so 50 pending at once leaves room
// for a large fleet; one address (a host, a NAT, an IPv6 /64) with more than
// 10 keys of its own pending is flooding, not deploying. Past a cap the key
// server answers 429 with Retry-After.
const (
	DefaultMaxUnapprovedPerService = 50
	DefaultMaxUnapprovedPerAddress = 10
)

// keyBits is the size of the keys wharf generates, as Quay's.
const keyBits = 2048

// Store is the storage the service needs. Methods that take log entries
// write them in the same transaction as the change.
type Store interface {
	// ServiceKey returns NotFound.
	ServiceKey(ctx context.Context, kid string) (*wharf.ServiceKey, error)
	// ListServiceKeys leaves out keys that expired at or before expiredBefore.
	ListServiceKeys(ctx context.Context, service string, expiredBefore time.Time) ([]*wharf.ServiceKey, error)
	// CreateServiceKey returns Conflict when the kid exists.
	CreateServiceKey(ctx context.Context, k *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error
	// CreateUnapprovedServiceKey is CreateServiceKey for a key awaiting
	// approval from clientAddr, decided and stored in one transaction:
	// TooManyRequests, with the creation time of the oldest key counted
	// against the cap, when k's service has perService live keys awaiting
	// approval or clientAddr has perAddress; Conflict when the kid exists.
	CreateUnapprovedServiceKey(ctx context.Context, k *wharf.ServiceKey, clientAddr string, perService, perAddress int,
		gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) (oldest time.Time, err error)
	// UpdateServiceKey, DeleteServiceKey and ReplaceServiceKey change a key
	// only if it is still as the service read it (before, k, old): Conflict
	// (wharf.ErrChanged) when it changed since, NotFound when it is gone.
	// ReplaceServiceKey also returns Conflict when next's kid exists.
	UpdateServiceKey(ctx context.Context, before, after *wharf.ServiceKey, entries ...wharf.LogEntry) error
	DeleteServiceKey(ctx context.Context, k *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error
	ReplaceServiceKey(ctx context.Context, old, next *wharf.ServiceKey, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error
	DeleteStaleServiceKeys(ctx context.Context, gc wharf.ServiceKeyGC) (int64, error)
	// CreateInstanceKey is CreateServiceKey that also stores the sealed private key.
	CreateInstanceKey(ctx context.Context, k *wharf.ServiceKey, sealed []byte, gc wharf.ServiceKeyGC, entries ...wharf.LogEntry) error
	// InstanceKey returns NotFound for keys without a stored private half.
	InstanceKey(ctx context.Context, kid string) ([]byte, error)
}

// Options configure a Service; zero values take the defaults above.
type Options struct {
	UnapprovedTTL           time.Duration    // UNAPPROVED_SERVICE_KEY_TTL_SEC
	ExpiredTTL              time.Duration    // EXPIRED_SERVICE_KEY_TTL_SEC
	MaxUnapprovedPerService int              // keys awaiting approval per service
	MaxUnapprovedPerAddress int              // keys awaiting approval per client address
	Now                     func() time.Time // clock; time.Now if nil
}

// Service performs service-key operations. Callers check permissions
// first; the service enforces the rules about the data.
type Service struct {
	store         Store
	unapprovedTTL time.Duration
	expiredTTL    time.Duration
	perService    int
	perAddress    int
	now           func() time.Time
}

// New returns a Service over store.
func New(store Store, o Options) *Service {
	s := &Service{store: store, unapprovedTTL: o.UnapprovedTTL, expiredTTL: o.ExpiredTTL,
		perService: o.MaxUnapprovedPerService, perAddress: o.MaxUnapprovedPerAddress, now: o.Now}
	if s.unapprovedTTL <= 0 {
		s.unapprovedTTL = DefaultUnapprovedTTL
	}
	if s.expiredTTL <= 0 {
		s.expiredTTL = DefaultExpiredTTL
	}
	if s.perService <= 0 {
		s.perService = DefaultMaxUnapprovedPerService
	}
	if s.perAddress <= 0 {
		s.perAddress = DefaultMaxUnapprovedPerAddress
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// gc names the stale keys of service ("" = all) at now.
func (s *Service) gc(service string, now time.Time) wharf.ServiceKeyGC {
	return wharf.ServiceKeyGC{Service: service, ExpiredBefore: now.Add(-s.expiredTTL), UnapprovedBefore: now.Add(-s.unapprovedTTL)}
}

// stale reports whether k expired more than EXPIRED_SERVICE_KEY_TTL ago.
func (s *Service) stale(k *wharf.ServiceKey, now time.Time) bool {
	return k.ExpiredAt(now.Add(-s.expiredTTL))
}

var servicePattern = regexp.MustCompile(`^[a-z0-9_]+$`)

// ValidateServiceName applies Quay's rule for service names: ^[a-z0-9_]+$
// (and, in wharf, at most 255 characters).
func ValidateServiceName(service string) error {
	if !servicePattern.MatchString(service) || len(service) > 255 {
		return wharf.Errorf(wharf.Invalid, "Invalid service name %q: it must match ^[a-z0-9_]+$ and have at most 255 characters", service)
	}
	return nil
}

// ValidateFriendlyName applies Quay's rule for a key's name,
// ^[\s a-zA-Z0-9\-_:/]*$ (and, in wharf, at most 255 characters).
func ValidateFriendlyName(name string) error {
	ok := len(name) <= 255 && !strings.ContainsFunc(name, func(r rune) bool {
		return !(isPythonSpace(r) || r == '-' || r == '_' || r == ':' || r == '/' ||
			('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'))
	})
	if !ok {
		return wharf.Errorf(wharf.Invalid, "Invalid service key friendly name: %s", name)
	}
	return nil
}

// isPythonSpace is \s of Python's re on str: Unicode whitespace plus the
// separators U+001C..U+001F.
func isPythonSpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// ExpirationFromUnix turns an expiration given as Unix seconds (fractions
// allowed) into a time, refusing values beyond the year 9999 as Quay does
// (where Quay crashes on larger ones, wharf answers Invalid).
func ExpirationFromUnix(seconds float64) (time.Time, error) {
	if math.IsNaN(seconds) || math.IsInf(seconds, 0) || seconds >= 253402300800 || seconds < -62135596800 {
		if !math.IsNaN(seconds) && math.Abs(seconds) < 1e17 {
			year := time.Unix(int64(seconds), 0).UTC().Year()
			return time.Time{}, wharf.Errorf(wharf.Invalid, "Invalid expiration date: year %d is out of range", year)
		}
		return time.Time{}, wharf.Errorf(wharf.Invalid, "Invalid expiration date: year is out of range")
	}
	sec, frac := math.Modf(seconds)
	return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
}

// epoch is how audit-log metadata records a time: Unix seconds, or nil.
func epoch(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Unix()
}

// keyLog is the common audit metadata of a key.
func keyLog(k *wharf.ServiceKey) map[string]any {
	return map[string]any{"kid": k.Kid, "service": k.Service, "name": k.Name, "expiration_date": epoch(k.ExpiresAt)}
}

// NewKey is what a superuser asks for when creating a key.
type NewKey struct {
	Service    string
	Name       string
	Metadata   map[string]any // nil = none
	Notes      string         // the approval's notes
	Expiration *time.Time     // nil = never expires
}

// CreatedKey is a new key with its private half, which exists only here:
// wharf does not store it and cannot show it again.
type CreatedKey struct {
	Key           *wharf.ServiceKey
	PrivateKeyPEM string // PKCS#1 ("RSA PRIVATE KEY"), unencrypted
	PublicKeyPEM  string // SubjectPublicKeyInfo ("PUBLIC KEY")
}

// Create generates an RSA-2048 key for req.Service, approved by the actor
// (a superuser), removes the service's stale keys, and logs
// service_key_create and service_key_approve. Invalid for a bad service or
// friendly name or an expiration that is not in the future.
func (s *Service) Create(ctx context.Context, actor *wharf.Caller, req NewKey) (*CreatedKey, error) {
	if err := ValidateServiceName(req.Service); err != nil {
		return nil, err
	}
	if err := ValidateFriendlyName(req.Name); err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if req.Expiration != nil && !req.Expiration.After(now) {
		return nil, wharf.Errorf(wharf.Invalid, "Expiration date cannot be in the past")
	}
	priv, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, wharf.Wrap(err, "generate service key")
	}
	metadata := maps.Clone(req.Metadata)
	if metadata == nil {
		metadata = map[string]any{}
	}
	metadata["created_by"] = "Quay Superuser Panel"
	metadata["creator"] = actor.Name()
	metadata["ip"] = actor.IP
	kid := Thumbprint(&priv.PublicKey)
	k := &wharf.ServiceKey{Kid: kid, Service: req.Service, Name: req.Name, JWK: PublicJWK(&priv.PublicKey, kid),
		Metadata: metadata, CreatedAt: now, ExpiresAt: req.Expiration,
		Approval: &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApproverID: accountID(actor.Account),
			Approver: actor.Account, ApprovedAt: now, Notes: req.Notes}}
	logMeta := func() map[string]any {
		m := keyLog(k)
		m["preshared"], m["auto_approved"] = true, true
		return m
	}
	if err := s.store.CreateServiceKey(ctx, k, s.gc(k.Service, now),
		actor.Entry("service_key_create", nil, logMeta()), actor.Entry("service_key_approve", nil, logMeta())); err != nil {
		return nil, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return nil, wharf.Wrap(err, "encode public key")
	}
	return &CreatedKey{Key: k,
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)})),
		PublicKeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))}, nil
}

func accountID(a *wharf.Account) int64 {
	if a == nil {
		return 0
	}
	return a.ID
}

// List returns every key, approved or not, alive or expired, except those
// that expired more than EXPIRED_SERVICE_KEY_TTL ago.
func (s *Service) List(ctx context.Context) ([]*wharf.ServiceKey, error) {
	return s.store.ListServiceKeys(ctx, "", s.now().Add(-s.expiredTTL))
}

// Get returns the key kid whatever its state. NotFound when it does not
// exist or expired more than EXPIRED_SERVICE_KEY_TTL ago.
func (s *Service) Get(ctx context.Context, kid string) (*wharf.ServiceKey, error) {
	k, err := s.store.ServiceKey(ctx, kid)
	if err != nil {
		return nil, err
	}
	if s.stale(k, s.now()) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return k, nil
}

// Changes is an update of a key; nil/false fields are left alone.
type Changes struct {
	Name *string
	// Metadata is merged into the key's: keys are added or overwritten,
	// never removed. Non-nil (even empty) counts as a modification.
	Metadata map[string]any
	// SetExpiration says Expiration is to be stored (nil = never expires).
	SetExpiration bool
	Expiration    *time.Time
}

// Update applies ch to the key kid, logging service_key_extend when the
// expiration is set and service_key_modify when the name or metadata is.
// Unlike Quay, every part is validated before anything is stored: Invalid
// for a bad name or an expiration not in the future leaves the key as it
// was. NotFound as Get.
func (s *Service) Update(ctx context.Context, actor *wharf.Caller, kid string, ch Changes) (*wharf.ServiceKey, error) {
	now := s.now().UTC()
	var updated *wharf.ServiceKey
	err := wharf.RetryChanged(func() error {
		before, err := s.store.ServiceKey(ctx, kid)
		if err != nil {
			return err
		}
		after, entries, err := s.changed(actor, before, ch, now)
		if err != nil {
			return err
		}
		updated = after
		return s.store.UpdateServiceKey(ctx, before, after, entries...)
	})
	if err != nil {
		return nil, err
	}
	return updated, nil
}

// changed returns the key before with ch applied at now and the entries
// that log the change; Invalid or NotFound as Update.
func (s *Service) changed(actor *wharf.Caller, before *wharf.ServiceKey, ch Changes, now time.Time) (*wharf.ServiceKey, []wharf.LogEntry, error) {
	if s.stale(before, now) {
		return nil, nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if ch.SetExpiration && ch.Expiration != nil && !ch.Expiration.After(now) {
		return nil, nil, wharf.Errorf(wharf.Invalid, "Cannot have an expiration date in the past")
	}
	modify := ch.Name != nil || ch.Metadata != nil
	if ch.Name != nil {
		if err := ValidateFriendlyName(*ch.Name); err != nil {
			return nil, nil, err
		}
	}
	k := *before
	k.Metadata = maps.Clone(before.Metadata)
	meta := keyLog(&k)
	if ch.Name != nil {
		meta["name"] = *ch.Name
	}
	var entries []wharf.LogEntry
	if ch.SetExpiration {
		meta["old_expiration_date"] = epoch(k.ExpiresAt)
		meta["expiration_date"] = epoch(ch.Expiration)
		entries = append(entries, actor.Entry("service_key_extend", nil, maps.Clone(meta)))
		k.ExpiresAt = ch.Expiration
	}
	if modify {
		if ch.Name != nil {
			k.Name = *ch.Name
		}
		maps.Copy(k.Metadata, ch.Metadata)
		entries = append(entries, actor.Entry("service_key_modify", nil, maps.Clone(meta)))
	}
	return &k, entries, nil
}

// Delete removes the key kid (even a stale one), logs service_key_delete
// and removes the service's stale keys. NotFound if it does not exist.
func (s *Service) Delete(ctx context.Context, actor *wharf.Caller, kid string) error {
	now := s.now().UTC()
	return wharf.RetryChanged(func() error {
		k, err := s.store.ServiceKey(ctx, kid)
		if err != nil {
			return err
		}
		meta := keyLog(k)
		meta["created_date"] = k.CreatedAt.Unix()
		return s.store.DeleteServiceKey(ctx, k, s.gc(k.Service, now), actor.Entry("service_key_delete", nil, meta))
	})
}

// Approve approves the key kid in the actor's name (type SUPERUSER) with
// notes and logs service_key_approve. An approved key is left as it is,
// without error or log. NotFound if it does not exist.
func (s *Service) Approve(ctx context.Context, actor *wharf.Caller, kid, notes string) error {
	now := s.now().UTC()
	return wharf.RetryChanged(func() error {
		before, err := s.store.ServiceKey(ctx, kid)
		if err != nil || before.Approval != nil {
			return err
		}
		k := *before
		k.Approval = &wharf.ServiceKeyApproval{Type: wharf.ApprovalSuperuser, ApproverID: accountID(actor.Account),
			ApprovedAt: now, Notes: notes}
		return s.store.UpdateServiceKey(ctx, before, &k, actor.Entry("service_key_approve", nil, keyLog(&k)))
	})
}

// Collect removes the stale keys of every service: those expired more than
// EXPIRED_SERVICE_KEY_TTL ago and those left unapproved longer than
// UNAPPROVED_SERVICE_KEY_TTL. It reports how many it removed. It is the
// background job's work; like Quay's own collection it writes no log.
func (s *Service) Collect(ctx context.Context) (int64, error) {
	return s.store.DeleteStaleServiceKeys(ctx, s.gc("", s.now().UTC()))
}
