package wharf

import "context"

type backgroundKey struct{}

// Background marks ctx as background work (a job, the blob collector):
// where it shares a scarce resource with requests, such as SQLite's one
// write lock, it goes after the requests waiting for it, so that it cannot
// make them wait longer than one of its steps.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

// InBackground reports whether ctx is background work (Background).
func InBackground(ctx context.Context) bool {
	v, _ := ctx.Value(backgroundKey{}).(bool)
	return v
}
