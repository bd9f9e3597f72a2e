package db

import (
	"context"
	"database/sql"
	"errors"

	"github.com/wharf-registry/wharf/internal/wharf"
)

// OAuth stores organizations' OAuth applications and the access
// tokens they grant. Looking a token up is a login's business: see
// Accounts.AccessTokenByName.
type OAuth struct{ *base }

const applicationColumns = `id, org_id, client_id, client_secret, name, description, application_uri,
	redirect_uri, avatar_email, created_at`

// scanApplication reads an application row, unsealing its client secret.
// It is on base because OAuth lists applications and Accounts reads the
// application of a token it looks up.
func (db *base) scanApplication(row rowScanner) (*wharf.Application, error) {
	var a wharf.Application
	var created int64
	if err := row.Scan(&a.ID, &a.OrgID, &a.ClientID, &a.ClientSecret, &a.Name, &a.Description, &a.ApplicationURI,
		&a.RedirectURI, &a.AvatarEmail, &created); err != nil {
		return nil, err
	}
	var err error
	if a.ClientSecret, err = db.unseal(sealClientSecret, a.ClientSecret); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(created)
	return &a, nil
}

// CreateApplication stores a new OAuth application with entries.
func (db *OAuth) CreateApplication(ctx context.Context, app *wharf.Application, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		app.CreatedAt = db.now().UTC()
		err := tx.QueryRowContext(ctx, `INSERT INTO oauth_application (org_id, client_id, client_secret, name, description,
			application_uri, redirect_uri, avatar_email, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			app.OrgID, app.ClientID, db.seal(sealClientSecret, app.ClientSecret), app.Name, app.Description, app.ApplicationURI,
			app.RedirectURI, app.AvatarEmail, micros(app.CreatedAt)).Scan(&app.ID)
		if err != nil {
			return wharf.Wrap(err, "create application")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// Applications lists an organization's OAuth applications by name.
func (db *OAuth) Applications(ctx context.Context, orgID int64) ([]*wharf.Application, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+applicationColumns+` FROM oauth_application WHERE org_id = $1 ORDER BY name, id`, orgID)
	if err != nil {
		return nil, wharf.Wrap(err, "list applications")
	}
	defer rows.Close()
	var out []*wharf.Application
	for rows.Next() {
		a, err := db.scanApplication(rows)
		if err != nil {
			return nil, wharf.Wrap(err, "scan application")
		}
		out = append(out, a)
	}
	return out, wharf.Wrap(rows.Err(), "list applications")
}

// ApplicationByClientID returns the application with that client id. NotFound if none.
func (db *OAuth) ApplicationByClientID(ctx context.Context, clientID string) (*wharf.Application, error) {
	a, err := db.scanApplication(db.sql.QueryRowContext(ctx, `SELECT `+applicationColumns+` FROM oauth_application WHERE client_id = $1`, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	return a, wharf.Wrap(err, "load application")
}

// UpdateApplication stores app's editable fields with entries. NotFound if gone.
func (db *OAuth) UpdateApplication(ctx context.Context, app *wharf.Application, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE oauth_application SET name = $1, description = $2, application_uri = $3,
			redirect_uri = $4, avatar_email = $5, client_secret = $6 WHERE id = $7`,
			app.Name, app.Description, app.ApplicationURI, app.RedirectURI, app.AvatarEmail,
			db.seal(sealClientSecret, app.ClientSecret), app.ID)
		if err != nil {
			return wharf.Wrap(err, "update application")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// DeleteApplication removes the application and the tokens it issued.
func (db *OAuth) DeleteApplication(ctx context.Context, id int64, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM oauth_application WHERE id = $1`, id)
		if err != nil {
			return wharf.Wrap(err, "delete application")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return wharf.Errorf(wharf.NotFound, "Not Found")
		}
		// Its tokens went with it; lookups cached elsewhere must end too.
		if err := db.bumpEpochs(ctx, tx, wharf.ApplicationSubject(id)); err != nil {
			return err
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

// CreateAccessToken stores tok (its secret only as a hash) with entries.
func (db *OAuth) CreateAccessToken(ctx context.Context, tok *wharf.AccessToken, entries ...wharf.LogEntry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		tok.CreatedAt = db.now().UTC()
		err := tx.QueryRowContext(ctx, `INSERT INTO oauth_access_token (token_name, secret_hash, account_id, application_id,
			scope, expires_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			tok.Name, tok.SecretHash, tok.AccountID, tok.Application.ID, tok.Scope, micros(tok.ExpiresAt), micros(tok.CreatedAt)).Scan(&tok.ID)
		if err != nil {
			return wharf.Wrap(err, "create access token")
		}
		return db.appendLogs(ctx, tx, entries)
	})
}

var accessTokenByNameQuery = `SELECT t.id, t.token_name, t.secret_hash, t.account_id, t.scope, t.expires_at, t.created_at,
	p.id, p.org_id, p.client_id, p.name, p.description, p.application_uri, p.redirect_uri, p.avatar_email, p.created_at,
	` + prefixed("a.", accountColumns) + `
	FROM oauth_access_token t JOIN oauth_application p ON p.id = t.application_id JOIN account a ON a.id = t.account_id
	WHERE t.token_name = $1`

// AccessTokenByName returns the token whose public half is name, with its
// application and account. NotFound if none.
//
// The query is built once, as every API call with a token runs it.
func (db *Accounts) AccessTokenByName(ctx context.Context, name string) (*wharf.AccessToken, *wharf.Account, error) {
	// One query for the token, its application and its account: API calls
	// carry a token each, and three round trips were a sixth of a page.
	// The application's client secret is not read: checking a token never
	// needs it.
	var tok wharf.AccessToken
	var expires, created, appCreated int64
	app := &tok.Application
	row := db.sql.QueryRowContext(ctx, accessTokenByNameQuery, name)
	acct, err := scanAccount(prefixedScanner{row, []any{&tok.ID, &tok.Name, &tok.SecretHash, &tok.AccountID, &tok.Scope, &expires, &created,
		&app.ID, &app.OrgID, &app.ClientID, &app.Name, &app.Description, &app.ApplicationURI, &app.RedirectURI, &app.AvatarEmail, &appCreated}})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, wharf.Errorf(wharf.NotFound, "Not Found")
	}
	if err != nil {
		return nil, nil, wharf.Wrap(err, "load access token")
	}
	tok.ExpiresAt, tok.CreatedAt, app.CreatedAt = fromMicros(expires), fromMicros(created), fromMicros(appCreated)
	return &tok, acct, nil
}

// prefixedScanner scans columns into first, then the rest into what its
// caller asks for: one row read by two scanners.
type prefixedScanner struct {
	row   rowScanner
	first []any
}

func (p prefixedScanner) Scan(dest ...any) error {
	return p.row.Scan(append(append([]any{}, p.first...), dest...)...)
}
