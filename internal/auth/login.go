package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

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
	AppToken      CredentialKind = "app-token"      // a user's app-specific token
)

// Basic-auth user names that select a credential kind at the registry's
// token endpoint, as Docker clients send them.
const (
	OAuthTokenUsername = "$oauthtoken"
	BuildTokenUsername = "$buildtoken"
	AppTokenUsername   = "$app"
)

// Credential is what a caller presented.
type Credential struct {
	Kind     CredentialKind
	Username string // for passwords and robot tokens
	Secret   string
	IP       string
}

// BasicCredential classifies Basic credentials as the registry's token
// endpoint receives them: "$oauthtoken", "$app" and "$buildtoken" name
// token kinds, a name with "+" is a robot's, anything else a user's
// password.
func BasicCredential(username, secret, ip string) Credential {
	c := Credential{Username: username, Secret: secret, IP: ip, Kind: Password}
	switch {
	case username == OAuthTokenUsername:
		c.Kind, c.Username = OAuthToken, ""
	case username == BuildTokenUsername:
		c.Kind, c.Username = BuildToken, ""
	case username == AppTokenUsername:
		c.Kind, c.Username = AppToken, ""
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
// Forbidden when a user's correct password belongs to a disabled user;
// TooManyRequests (with when to retry) while failed logins throttle the
// account or the address. Other errors are faults.
func (s *Service) Login(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	c, err := s.login(ctx, cr)
	if s.logins != nil {
		s.logins.Login(string(cr.Kind), err)
	}
	return c, err
}

func (s *Service) login(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	// Passwords, robot, OAuth and app tokens can be guessed: each attempt
	// passes the throttle first, and a throttled one is refused before its
	// secret is looked at. Tokens are long random secrets, counted for the
	// address only: per name, anyone who knows a robot's name could lock it
	// out. Build tokens are signed, so nothing to guess.
	if cr.Kind != Password && cr.Kind != RobotToken && cr.Kind != OAuthToken && cr.Kind != AppToken {
		return s.check(ctx, cr)
	}
	account := ""
	if cr.Kind == Password {
		account = cr.Username
	}
	if wait, ok := s.throttle.Check(account, cr.IP); !ok {
		return nil, wharf.Throttled(wait, "Too many failed login attempts. Please try again later.")
	}
	c, err := s.check(ctx, cr)
	switch {
	case err == nil, err == errDisabled: // a disabled user's right password is no guess
		s.throttle.Succeed(account, cr.IP)
	case err == errBadCredentials:
		s.throttle.Fail(account, cr.IP)
	default:
		s.throttle.Release(account, cr.IP)
	}
	return c, err
}

// check verifies a credential, unthrottled: Authenticate checks the
// credentials API calls carry on every request (an OAuth token, a session
// cookie), which are in use, not guesses.
func (s *Service) check(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	var verify func(context.Context, Credential) (*wharf.Caller, error)
	switch cr.Kind {
	case Password:
		verify = s.passwordLogin
	case RobotToken:
		verify = s.robotLogin
	case OAuthToken:
		verify = s.tokenLogin
	case BuildToken:
		verify = s.buildLogin
	case AppToken:
		verify = s.appTokenLogin
	case SessionCookie:
		verify = s.sessionLogin
	default:
		return nil, errBadCredentials
	}
	c, err := verify(ctx, cr)
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
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		return nil, err
	}
	if acct == nil || acct.Kind != wharf.KindUser {
		// No user by that name: refuse at the cost of a real check, so the
		// answer's timing does not tell which names exist.
		identity.CheckPassword("", cr.Secret)
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

// unknownRobotToken stands in for the token of a robot that does not
// exist, so that its refusal does the same comparison as a wrong token's.
var unknownRobotToken = strings.Repeat("0", 64)

func (s *Service) robotLogin(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	robot, err := s.store.RobotByName(ctx, cr.Username)
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		return nil, err
	}
	token := unknownRobotToken
	if robot != nil {
		token = robot.Token
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(cr.Secret)) != 1 || robot == nil {
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

func (s *Service) tokenLogin(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	token := cr.Secret
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

// unknownAppTokenHash stands in for the secret hash of an app token that
// does not exist, so that its refusal does the same comparison as a wrong
// secret's.
var unknownAppTokenHash = make([]byte, 32)

// appTokenTouchInterval is how stale an app token's last_accessed may get
// before a login records it again (Quay's throttle): a busy CI job does
// not write on every login.
const appTokenTouchInterval = 2 * time.Minute

// appTokenLogin admits "$app" with an app-specific token: the token's
// owner, with every right (no scope narrows an app token), while the token
// is unexpired and the owner may act.
func (s *Service) appTokenLogin(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	name, secret, ok := identity.SplitAppToken(cr.Secret)
	if !ok {
		return nil, errBadCredentials
	}
	tok, acct, err := s.store.AppTokenByName(ctx, name)
	if err != nil && !wharf.IsCode(err, wharf.NotFound) {
		return nil, err
	}
	if tok == nil {
		identity.TokenSecretMatches(unknownAppTokenHash, secret)
		return nil, errBadCredentials
	}
	now := s.now()
	if !identity.TokenSecretMatches(tok.SecretHash, secret) || tok.Expired(now) || acct.Kind != wharf.KindUser {
		return nil, errBadCredentials
	}
	if !acct.Enabled {
		return nil, errDisabled
	}
	if now.Sub(tok.LastAccessed) >= appTokenTouchInterval {
		if err := s.store.TouchAppToken(ctx, tok.ID, now); err != nil {
			return nil, err
		}
		tok.LastAccessed = now
	}
	return &wharf.Caller{Account: acct, AppToken: tok}, nil
}

func (s *Service) sessionLogin(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	raw := cr.Secret
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
func (s *Service) buildLogin(ctx context.Context, cr Credential) (*wharf.Caller, error) {
	token := cr.Secret
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
