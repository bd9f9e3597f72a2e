package app

import "net/http"

// Faces is how a's Handler serves /v2 paths without the request log and
// metrics around it, for measuring what they cost.
func Faces(a *App) http.Handler { return front(a.Registry, a.Registry, a.Registry, a.Registry, false) }

// BadgeStatusOf is badgeStatus, for the badge's tests.
var BadgeStatusOf = badgeStatus
