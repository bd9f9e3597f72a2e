package wharf

import "context"

type backgroundKey struct{}

// Background marks ctx as background work (the blob collector removing
// blobs): where it shares the database with requests, it writes in the
// gaps between their writes (package db), so that it cannot make a push
// wait longer than one of its steps.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// InBackground reports whether ctx is background work (Background).
func InBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}
