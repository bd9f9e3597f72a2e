package db

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Robot tokens and OAuth client secrets must be shown again (Quay shows a
// robot's token to its admins), so they cannot be hashed; they are sealed
// instead, so that a copy of the database or a backup does not hand them
// out. A sealed value is
//
//	sealed:v1:<base64url(nonce || AES-256-GCM(key, nonce, plaintext, "<table>.<column>"))>
//
// with key = HMAC-SHA256(SECRET_KEY, sealKeyLabel). The additional data
// keeps a value from being read as another column's; it does not name the
// row, so rows keep their secrets when moved between databases. A value
// without the prefix is the plaintext an older wharf stored: it reads as is
// and is sealed when the store is next opened with a key.
const (
	sealPrefix   = "sealed:v1:"
	sealKeyLabel = "wharf sealed database columns v1"
)

// ErrSecretKey is the cause when a sealed value does not open: the
// SECRET_KEY given to Open is not the one it was sealed with, or none was.
var ErrSecretKey = errors.New("SECRET_KEY is not the key the stored robot tokens and OAuth client secrets were sealed with")

// The sealed columns, named as the additional data of their values.
const (
	sealRobotToken   = "robot.token"
	sealClientSecret = "oauth_application.client_secret"
)

// sealedColumn is a column holding secrets wharf must show again, with the
// key of its rows.
type sealedColumn struct{ label, table, key, column string }

var sealedColumns = []sealedColumn{
	{sealRobotToken, "robot", "account_id", "token"},
	{sealClientSecret, "oauth_application", "id", "client_secret"},
}

// Option configures Open.
type Option func(*options)

type options struct {
	secretKey string
	seal      bool
}

// WithSecretKey seals robot tokens and OAuth client secrets under a key
// derived from secret (the instance's SECRET_KEY), which must not be empty.
// Without it they are stored in plaintext, as before sealing existed, and
// a database holding sealed values cannot be opened.
func WithSecretKey(secret string) Option {
	return func(o *options) { o.secretKey, o.seal = secret, true }
}

// sealer returns the AEAD that seals values under secret.
func sealer(secret string) (cipher.AEAD, error) {
	if secret == "" {
		return nil, errors.New("the secret key that seals stored credentials is empty")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(sealKeyLabel))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCMWithRandomNonce(block)
}

// seal returns plaintext as it is stored in column ("table.column").
func (db *base) seal(column, plaintext string) string {
	if db.aead == nil {
		return plaintext
	}
	return sealPrefix + base64.RawURLEncoding.EncodeToString(db.aead.Seal(nil, nil, []byte(plaintext), []byte(column)))
}

// unseal returns the plaintext of a value stored in column.
func (db *base) unseal(column, stored string) (string, error) {
	enc, ok := strings.CutPrefix(stored, sealPrefix)
	if !ok {
		return stored, nil
	}
	if db.aead == nil {
		return "", fmt.Errorf("%s is sealed and no key was given: %w", column, ErrSecretKey)
	}
	raw, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return "", fmt.Errorf("%s: sealed value is corrupt: %w", column, err)
	}
	plain, err := db.aead.Open(nil, nil, raw, []byte(column))
	if err != nil {
		return "", fmt.Errorf("%s: %w", column, ErrSecretKey)
	}
	return string(plain), nil
}

// sealStored runs at Open: it checks the key against one sealed value per
// column, so a wrong SECRET_KEY stops start-up instead of failing every
// robot login later, then seals the values an older wharf left in
// plaintext. It is one transaction, and each update applies only if the
// row still holds the plaintext read, so processes opening one database
// at once do not seal twice.
func (db *DB) sealStored(ctx context.Context) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		for _, c := range sealedColumns {
			var sample string
			err := tx.QueryRowContext(ctx, `SELECT `+c.column+` FROM `+c.table+` WHERE `+c.column+` LIKE 'sealed:%' LIMIT 1`).Scan(&sample)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read %s: %w", c.label, err)
			}
			if err == nil {
				if _, err := db.unseal(c.label, sample); err != nil {
					return err
				}
			}
			if db.aead == nil {
				continue
			}
			if err := db.sealPlaintext(ctx, tx, c); err != nil {
				return fmt.Errorf("seal %s: %w", c.label, err)
			}
		}
		return nil
	})
}

// sealPlaintext seals every unsealed value of column c.
func (db *DB) sealPlaintext(ctx context.Context, tx *sql.Tx, c sealedColumn) error {
	rows, err := tx.QueryContext(ctx, `SELECT `+c.key+`, `+c.column+` FROM `+c.table+` WHERE `+c.column+` NOT LIKE 'sealed:%'`)
	if err != nil {
		return err
	}
	type plain struct {
		id    int64
		value string
	}
	var todo []plain
	for rows.Next() {
		var p plain
		if err := rows.Scan(&p.id, &p.value); err != nil {
			rows.Close()
			return err
		}
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, p := range todo {
		if _, err := tx.ExecContext(ctx, `UPDATE `+c.table+` SET `+c.column+` = $1 WHERE `+c.key+` = $2 AND `+c.column+` = $3`,
			db.seal(c.label, p.value), p.id, p.value); err != nil {
			return err
		}
	}
	return nil
}
