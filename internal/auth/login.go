package auth

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// CredentialKind says what a credential is.
type CredentialKind string

// The credentials wharf accepts.
const (
	Password      CredentialKind = "password"       // a user's password
	RobotToken    CredentialKind = "robot"          // a robot's token, Username "ns+short"
	OAuthToken    CredentialKind = "oauth"          // an OAuth access token
	BuildToken    CredentialKind = "build"          // a build worker's token (package build)
	SessionCookie CredentialKind = "session-cookie" // a session cookie's secret
)

// Basic-auth user names that select a credential kind at the registry's
// token endpoint, as Docker clients send them.
const (
	OAuthTokenUsername = "$oauthtoken"
	BuildTokenUsername = "$buildtoken"
)

// Credential is what a caller presented.
type Credential struct {
	Kind     CredentialKind
	Username string // for passwords and robot tokens
	Secret   string
	IP       string
}

// BasicCredential classifies Basic credentials as the registry's token
// endpoint receives them: "$oauthtoken" and "$buildtoken" name token
// kinds, a name with "+" is a robot's, anything else a user's password.
func BasicCredential(username, secret, ip string) Credential {
	c := Credential{Username: username, Secret: secret, IP: ip, Kind: Password}
	switch {
	case username == OAuthTokenUsername:
		c.Kind, c.Username = OAuthToken, ""
	case username == BuildTokenUsername:
		c.Kind, c.Username = BuildToken, ""
	case strings.Contains(username, "+"):
		c.Kind = RobotToken
	}
	return c
}

var (
	errBadCredentials = wharf.Errorf(wharf.Unauthenticated, "Invalid username or password")
	errDisabled       = wharf.Errorf(wharf.Forbidden, "This user has been disabled. Please contact your administrator.")
)

// Login turns a credential into the caller it proves. Unauthenticated when
// the credential is wrong, unknown, expired, or names an account that may
// not act (a disabled or deleted robot or robot owner, an organization);
// Forbidden when a user's correct password belongs to a disabled user.
// Other errors are faults.
func (s *Service) Login(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	var c *wharf.Caller
	var err error
	switch cr.Kind {
	case Password:
		c, err = s.passwordLogin(ctx, cr)
	case RobotToken:
		c, err = s.robotLogin(ctx, cr)
	case OAuthToken:
		c, err = s.tokenLogin(ctx, cr.Secret)
	case BuildToken:
		c, err = s.buildLogin(ctx, cr.Secret)
	case SessionCookie:
		c, err = s.sessionLogin(ctx, cr.Secret)
	default:
		return nil, errBadCredentials
	}
	if err != nil {
		return nil, err
	}
	c.IP = cr.IP
	return c, nil
}

// notFoundAs turns a store NotFound into err, keeping faults.
func notFoundAs(got, err error) error {
	if wharf.IsCode(got, wharf.NotFound) {
		return err
	}
	return got
}

func (s *Service) passwordLogin(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	acct, err := s.store.AccountByName(ctx, cr.Username)
	if err != nil {
		return nil, notFoundAs(err, errBadCredentials)
	}
	if acct.Kind != wharf.KindUser {
		return nil, errBadCredentials
	}
	now := s.now()
	if !s.passwords.valid(cr.Username, cr.Secret, acct.PasswordHash, now) {
		if !identity.CheckPassword(acct.PasswordHash, cr.Secret) {
			return nil, errBadCredentials
		}
		s.passwords.remember(cr.Username, cr.Secret, acct.PasswordHash, now)
	}
	if !acct.Enabled {
		return nil, errDisabled
	}
	return &wharf.Caller{Account: acct}, nil
}

func (s *Service) robotLogin(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	robot, err := s.store.RobotByName(ctx, cr.Username)
	if err != nil {
		return nil, notFoundAs(err, errBadCredentials)
	}
	if subtle.ConstantTimeCompare([]byte(robot.Token), []byte(cr.Secret)) != 1 {
		return nil, errBadCredentials
	}
	ok, err := s.robotMayAct(ctx, robot)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errBadCredentials
	}
	return &wharf.Caller{Account: robot.Account, Robot: robot}, nil
}

// robotMayAct reports whether robot and the namespace it belongs to are
// both enabled: a robot acts with its owner's rights, so a disabled owner
// disables its robots too, as in Quay.
func (s *Service) robotMayAct(ctx context.Context, robot *wharf.Robot) (bool, error) {
	if !robot.Account.Enabled {
		return false, nil
	}
	owner, err := s.store.AccountByID(ctx, robot.NamespaceID)
	if wharf.IsCode(err, wharf.NotFound) {
		return false, nil
	}
	return err == nil && owner.Enabled, err
}

func (s *Service) tokenLogin(ctx context.Context, token string) (*wharf.Caller, error) {
	name, secret, ok := identity.SplitToken(token)
	if !ok {
		return nil, errBadCredentials
	}
	tok, acct, err := s.store.AccessTokenByName(ctx, name)
	if err != nil {
		return nil, notFoundAs(err, errBadCredentials)
	}
	if !identity.TokenSecretMatches(tok.SecretHash, secret) || !tok.ExpiresAt.After(s.now()) || !usable(acct) {
		return nil, errBadCredentials
	}
	return &wharf.Caller{Account: acct, Token: tok, Scoped: true, Scopes: wharf.ParseScopes(tok.Scope)}, nil
}

func (s *Service) sessionLogin(ctx context.Context, raw string) (*wharf.Caller, error) {
	sess, acct, err := s.store.SessionByHash(ctx, hashValue(raw))
	if err != nil {
		return nil, notFoundAs(err, errBadCredentials)
	}
	if !usable(acct) {
		return nil, errBadCredentials
	}
	return &wharf.Caller{Account: acct, Session: sess}, nil
}

func usable(a *wharf.Account) bool { return a.Enabled && a.Kind == wharf.KindUser }

// buildLogin admits a build worker by its build token. It pulls as the
// build's pull robot, or else as the user who requested the build, while
// that account (and a robot's owner) may act; the build's own repository
// is judged by the build's rules (package access).
func (s *Service) buildLogin(ctx context.Context, token string) (*wharf.Caller, error) {
	if s.builds == nil {
		return nil, errBadCredentials
	}
	b, err := s.builds.Verify(ctx, token)
	if err != nil {
		return nil, err
	}
	c := &wharf.Caller{Build: b}
	switch {
	case b.PullRobot != "":
		// Only the very robot the build named (not a deleted one's
		// namesake); without it the build pulls public images only.
		robot, err := s.store.RobotByName(ctx, b.PullRobot)
		if err != nil && !wharf.IsCode(err, wharf.NotFound) {
			return nil, err
		}
		if err == nil && robot.Account.ID == b.PullRobotID {
			ok, err := s.robotMayAct(ctx, robot)
			if err != nil {
				return nil, err
			}
			if ok {
				c.Account, c.Robot = robot.Account, robot
			}
		}
	case b.ManualUserID != 0:
		acct, err := s.store.AccountByID(ctx, b.ManualUserID)
		if err != nil && !wharf.IsCode(err, wharf.NotFound) {
			return nil, err
		}
		if err == nil && usable(acct) {
			c.Account = acct
		}
	}
	return c, nil
}

// Holder returns the caller a registry token was issued to, as it is now,
// for deciding whether it could be granted more than the token holds:
// accounts are found by id, so a deleted account's namesake is nobody's
// holder. nil when the account may no longer act. Tokens earned by build
// workers have no holder here: their rights are the build's, decided anew
// at the token endpoint.
func (s *Service) Holder(ctx context.Context, claims *RegistryClaims) (*wharf.Caller, error) {
	if claims.Build != "" || claims.AccountID == 0 {
		return nil, nil
	}
	acct, err := s.store.AccountByID(ctx, claims.AccountID)
	if err != nil {
		return nil, notFoundAs(err, nil)
	}
	c := &wharf.Caller{Account: acct}
	switch acct.Kind {
	case wharf.KindRobot:
		robot, err := s.store.RobotByName(ctx, acct.Name)
		if err != nil {
			return nil, notFoundAs(err, nil)
		}
		if ok, err := s.robotMayAct(ctx, robot); err != nil || !ok {
			return nil, err
		}
		c.Robot = robot
	case wharf.KindUser:
		if !acct.Enabled {
			return nil, nil
		}
	default:
		return nil, nil
	}
	if claims.OAuth {
		// What the OAuth login was scoped to, not all the subject may do.
		c.Scoped = true
		for _, sc := range claims.Scopes {
			c.Scopes = append(c.Scopes, wharf.Scope(sc))
		}
	}
	return c, nil
}
