// Package repository is the domain of repositories and robot accounts:
// creating and deleting repositories, changing their visibility, and the
// robots that push to them. Who may do what to a repository is package
// access's to decide.
package repository

import (
	"context"
	"regexp"
	"strings"

	"github.com/wharf-registry/wharf/internal/identity"
	"github.com/wharf-registry/wharf/internal/wharf"
)

// Store is the storage the repository service needs.
type Store interface {
	// AccountByName, RepositoryByName and RobotByName return NotFound.
	AccountByName(ctx context.Context, name string) (*wharf.Account, error)
	RepositoryByName(ctx context.Context, namespace, name string) (*wharf.Repository, error)
	// CreateRepository returns Invalid when the repository exists; the
	// creator is granted admin and the namespace's default permissions apply.
	CreateRepository(ctx context.Context, repo *wharf.Repository, creatorID int64, entries ...wharf.LogEntry) error
	UpdateRepository(ctx context.Context, repo *wharf.Repository, entries ...wharf.LogEntry) error
	DeleteRepository(ctx context.Context, id int64, entries ...wharf.LogEntry) error
	RobotByName(ctx context.Context, name string) (*wharf.Robot, error)
	// CreateRobot returns Invalid when the name is taken.
	CreateRobot(ctx context.Context, r *wharf.Robot, entries ...wharf.LogEntry) error
	DeleteAccount(ctx context.Context, id int64, entries ...wharf.LogEntry) error
	// SetRobotToken returns NotFound when the robot is gone.
	SetRobotToken(ctx context.Context, accountID int64, token string, entries ...wharf.LogEntry) error
}

// Service manages repositories and robots.
type Service struct {
	store Store
}

// NewService returns a Service over store.
func NewService(store Store) *Service { return &Service{store: store} }

func repoMeta(repo *wharf.Repository, extra map[string]any) map[string]any {
	m := map[string]any{"repo": repo.Name, "namespace": repo.Namespace}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// ValidVisibility reports whether v is "public" or "private".
func ValidVisibility(v string) bool { return v == wharf.Public || v == wharf.Private }

var repoNamePattern = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)

// ValidateName applies the registry's repository name grammar.
func ValidateName(name string) error {
	if len(name) == 0 || len(name) > 255 || !repoNamePattern.MatchString(name) {
		return wharf.Errorf(wharf.Invalid, "Invalid repository name %q: it must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*", name)
	}
	return nil
}

// Create creates namespace/name for the actor.
func (s *Service) Create(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, name, visibility, description string) (*wharf.Repository, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if !ValidVisibility(visibility) {
		return nil, wharf.Errorf(wharf.Invalid, "visibility must be public or private")
	}
	repo := &wharf.Repository{NamespaceID: ns.ID, Namespace: ns.Name, Name: name, Visibility: visibility, Description: description}
	if err := s.store.CreateRepository(ctx, repo, actor.AccountID(), actor.Entry("create_repo", ns, repoMeta(repo, nil))); err != nil {
		return nil, err
	}
	repo.Namespace = ns.Name
	return repo, nil
}

// SetDescription changes a repository's description.
func (s *Service) SetDescription(ctx context.Context, actor *wharf.Caller, repo *wharf.Repository, description string) error {
	repo.Description = description
	return s.store.UpdateRepository(ctx, repo, actor.RepositoryEntry("set_repo_description", repo,
		repoMeta(repo, map[string]any{"description": description})))
}

// SetVisibility makes a repository public or private.
func (s *Service) SetVisibility(ctx context.Context, actor *wharf.Caller, repo *wharf.Repository, visibility string) error {
	if !ValidVisibility(visibility) {
		return wharf.Errorf(wharf.Invalid, "visibility must be public or private")
	}
	repo.Visibility = visibility
	return s.store.UpdateRepository(ctx, repo, actor.RepositoryEntry("change_repo_visibility", repo,
		repoMeta(repo, map[string]any{"visibility": visibility})))
}

// Delete removes a repository with its manifests and tags.
func (s *Service) Delete(ctx context.Context, actor *wharf.Caller, repo *wharf.Repository) error {
	return s.store.DeleteRepository(ctx, repo.ID, actor.RepositoryEntry("delete_repo", repo, repoMeta(repo, nil)))
}

var robotShortName = regexp.MustCompile(`^[a-z][a-z0-9_]{1,254}$`)

// Robot returns namespace's robot short. NotFound if none.
func (s *Service) Robot(ctx context.Context, ns *wharf.Account, short string) (*wharf.Robot, error) {
	r, err := s.store.RobotByName(ctx, ns.Name+"+"+short)
	if err != nil {
		return nil, err
	}
	if r.NamespaceID != ns.ID {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return r, nil
}

// RobotByFullName returns the robot "<ns>+<short>". A name that is not a
// robot's is Forbidden (it cannot lend its credentials), a missing robot
// NotFound, as Quay answers for a build's pull_robot.
func (s *Service) RobotByFullName(ctx context.Context, name string) (*wharf.Robot, error) {
	ns, short, ok := strings.Cut(name, "+")
	if !ok || ns == "" || short == "" {
		return nil, wharf.Errorf(wharf.Forbidden, "Unauthorized")
	}
	return s.store.RobotByName(ctx, name)
}

// CreateRobot creates robot "<ns>+<short>" with a fresh token.
func (s *Service) CreateRobot(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, short, description string) (*wharf.Robot, error) {
	if !robotShortName.MatchString(short) {
		return nil, wharf.Errorf(wharf.Invalid, "Invalid robot account name %q: it must match ^[a-z][a-z0-9_]{1,254}$", short)
	}
	r := &wharf.Robot{
		Account:     &wharf.Account{Name: ns.Name + "+" + short, Kind: wharf.KindRobot, Enabled: true, Verified: true},
		NamespaceID: ns.ID, Token: newRobotToken(), Description: description,
	}
	entry := actor.Entry("create_robot", ns, map[string]any{"robot": r.Account.Name, "description": description,
		"unstructured_metadata": map[string]any{}})
	if err := s.store.CreateRobot(ctx, r, entry); err != nil {
		return nil, err
	}
	return r, nil
}

// robotTokenAlphabet is the alphabet of Quay's robot tokens.
const robotTokenAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func newRobotToken() string { return identity.RandomString(64, robotTokenAlphabet) }

// RegenerateRobotToken gives r a fresh token and returns r with it, logged
// as Quay's regenerate_robot_token in namespace ns. The old token stops at
// once for logins, and the registry tokens earned with it within the
// revocation bound.
func (s *Service) RegenerateRobotToken(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, r *wharf.Robot) (*wharf.Robot, error) {
	short := strings.TrimPrefix(r.Account.Name, ns.Name+"+")
	token := newRobotToken()
	if err := s.store.SetRobotToken(ctx, r.Account.ID, token, actor.Entry("regenerate_robot_token", ns,
		map[string]any{"robot": short})); err != nil {
		return nil, err
	}
	out := *r
	out.Token = token
	return &out, nil
}

// DeleteRobot removes a robot; its tokens stop working at once.
func (s *Service) DeleteRobot(ctx context.Context, actor *wharf.Caller, ns *wharf.Account, r *wharf.Robot) error {
	return s.store.DeleteAccount(ctx, r.Account.ID, actor.Entry("delete_robot", ns, map[string]any{"robot": r.Account.Name}))
}
