package imagebuild

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// resolveOwner turns --chown=user[:group] into ids. Numeric ids are used as
// they are; names are looked up in the stage's own /etc/passwd and
// /etc/group, which are read only when a name is used. Without a group,
// the gid is the uid, as Docker documents.
func (s *stage) resolveOwner(ctx context.Context, spec string) (*owner, error) {
	user, group, hasGroup := strings.Cut(spec, ":")
	if user == "" || (hasGroup && group == "") {
		return nil, fmt.Errorf("--chown=%s: expected user[:group]", spec)
	}
	uid, uerr := parseID(user)
	gid, gerr := parseID(group)
	if uerr == nil && (!hasGroup || gerr == nil) {
		if !hasGroup {
			gid = uid
		}
		return &owner{uid, gid}, nil
	}
	idx, err := s.filesystem(ctx)
	if err != nil {
		return nil, err
	}
	if uerr != nil {
		if uid, err = lookupID(idx, "/etc/passwd", user); err != nil {
			return nil, fmt.Errorf("--chown=%s: user %q: %w", spec, user, err)
		}
	}
	switch {
	case !hasGroup:
		gid = uid
	case gerr != nil:
		if gid, err = lookupID(idx, "/etc/group", group); err != nil {
			return nil, fmt.Errorf("--chown=%s: group %q: %w", spec, group, err)
		}
	}
	return &owner{uid, gid}, nil
}

func parseID(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	return int(n), err
}

// lookupID finds name in the /etc/passwd or /etc/group file p of idx:
// both have the name in the first field and the numeric id in the third.
func lookupID(idx *fsIndex, p, name string) (int, error) {
	file, err := idx.account(p)
	if err != nil {
		return 0, err
	}
	if file == nil {
		return 0, fmt.Errorf("the stage has no file to look it up in")
	}
	sc := bufio.NewScanner(bytes.NewReader(file))
	sc.Buffer(nil, len(file)+1)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 3 || fields[0] != name {
			continue
		}
		id, err := parseID(fields[2])
		if err != nil {
			return 0, fmt.Errorf("invalid id %q", fields[2])
		}
		return id, nil
	}
	return 0, fmt.Errorf("no such entry")
}
