package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// problem is one thing wrong with the configuration. Key is always the
// config.yaml key (possibly with a path below it, e.g.
// DISTRIBUTED_STORAGE_CONFIG.s3), so an operator can find the line to fix.
type problem struct {
	key string
	msg string
}

func (p *problem) Error() string { return p.key + ": " + p.msg }

func problemf(key, format string, args ...any) error {
	return &problem{key: key, msg: fmt.Sprintf(format, args...)}
}

// applyEnv writes WHARF_<K> overrides into raw, converted to the value YAML
// would have produced (bool, int64, []any of strings, string), so that one
// decoder checks both sources and the config dump shows the override. It
// returns the keys that were overridden and one problem per unparsable value.
func applyEnv(raw map[string]any, getenv func(string) string) (map[string]bool, []error) {
	fromEnv := map[string]bool{}
	var problems []error
	for _, k := range keys {
		name := envPrefix + k.name
		s := getenv(name)
		if s == "" {
			continue
		}
		var v any
		switch k.field(new(Config)).(type) {
		case *map[string]StorageLocation:
			// A nested structure has no sensible one-line form; use the file.
			continue
		case *bool:
			b, err := parseBool(s)
			if err != nil {
				problems = append(problems, problemf(k.name, "%s=%q is not a boolean: want true, false, 1 or 0", name, s))
				continue
			}
			v = b
		case *int64:
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				problems = append(problems, problemf(k.name, "%s=%q is not an integer", name, s))
				continue
			}
			v = n
		case *[]string, *[]time.Duration:
			v = splitList(s)
		default:
			v = s
		}
		raw[k.name] = v
		fromEnv[k.name] = true
	}
	return fromEnv, problems
}

// parseBool accepts exactly what the package doc promises. strconv.ParseBool
// also takes "t", "F", "TRUE"... but not "True"/"tRue"; the documented set is
// smaller and case-insensitive, which is easier to explain.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// splitList splits a comma-separated env value, dropping blanks so that a
// trailing comma or spaces after commas do not create empty entries.
func splitList(s string) []any {
	out := []any{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// decode turns raw into a Config, starting from Default. A key whose value
// has the wrong type keeps its default and yields a problem; bad reports such
// keys so that validate does not pile a second, derived problem onto them.
func decode(raw map[string]any, fromEnv map[string]bool) (c Config, bad map[string]bool, problems []error) {
	c = Default()
	c.Raw = raw
	c.Unknown = unknownKeys(raw)
	bad = map[string]bool{}
	for _, k := range keys {
		v, ok := raw[k.name]
		if !ok || v == nil {
			continue // YAML null means "not set": keep the default
		}
		errs := decodeValue(k.name, v, k.field(&c))
		if len(errs) > 0 && fromEnv[k.name] {
			for i, err := range errs {
				errs[i] = fmt.Errorf("%w (from %s%s)", err, envPrefix, k.name)
			}
		}
		if len(errs) > 0 {
			bad[k.name] = true
			problems = append(problems, errs...)
		}
	}
	// Quay needs an explicit preference; a config with a single location
	// obviously prefers it, so wharf does not make the operator repeat it.
	if raw["DISTRIBUTED_STORAGE_PREFERENCE"] == nil && len(c.Storage) == 1 {
		c.StoragePreference = slices.Collect(maps.Keys(c.Storage))
	}
	return c, bad, problems
}

// decodeValue checks v against the type of the field dst points to and
// stores it there. It returns one problem per bad value (every bad list item).
func decodeValue(name string, v any, dst any) []error {
	switch p := dst.(type) {
	case *string:
		s, ok := v.(string)
		if !ok {
			return []error{typeProblem(name, "a string", v)}
		}
		*p = s
	case *bool:
		b, ok := v.(bool)
		if !ok {
			return []error{typeProblem(name, "a boolean (true or false)", v)}
		}
		*p = b
	case *int64:
		n, ok := asInt64(v)
		if !ok {
			return []error{typeProblem(name, "an integer", v)}
		}
		*p = n
	case *[]string:
		items, errs := stringList(name, v)
		if len(errs) > 0 {
			return errs
		}
		*p = items
	case *time.Duration:
		d, err := durationValue(name, v)
		if err != nil {
			return []error{err}
		}
		*p = d
	case *[]time.Duration:
		list, ok := v.([]any)
		if !ok {
			return []error{typeProblem(name, "a list of durations", v)}
		}
		var errs []error
		ds := make([]time.Duration, 0, len(list))
		for i, item := range list {
			d, err := durationValue(fmt.Sprintf("%s[%d]", name, i), item)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			ds = append(ds, d)
		}
		if len(errs) > 0 {
			return errs
		}
		*p = ds
	case *map[string]StorageLocation:
		locs, errs := decodeStorage(name, v)
		if len(errs) > 0 {
			return errs
		}
		*p = locs
	default:
		// Only reachable if a key is added with a field type this switch
		// does not know: a programming error that TestKeysDecode catches.
		panic(fmt.Sprintf("config: key %s has unsupported field type %T", name, dst))
	}
	return nil
}

// asInt64 accepts the integer types YAML decodes to. Floats are refused even
// when integral: a byte count written as 1.5e9 is more likely a mistake.
func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case uint64:
		if n > math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

func stringList(name string, v any) ([]string, []error) {
	list, ok := v.([]any)
	if !ok {
		return nil, []error{typeProblem(name, "a list of strings", v)}
	}
	var errs []error
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			errs = append(errs, typeProblem(fmt.Sprintf("%s[%d]", name, i), "a string", item))
			continue
		}
		out = append(out, s)
	}
	return out, errs
}

// durationValue parses a Quay duration string. A YAML integer is accepted as
// its decimal text so that a bare 0 (which YAML reads as a number) works.
func durationValue(name string, v any) (time.Duration, error) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case int, int64, uint64:
		s = fmt.Sprint(t)
	default:
		return 0, typeProblem(name, `a duration such as "2w"`, v)
	}
	d, err := ParseDuration(s)
	if err != nil {
		return 0, problemf(name, "%v", err)
	}
	return d, nil
}

// decodeStorage reads Quay's {name: [Driver, {params}]} mapping.
func decodeStorage(name string, v any) (map[string]StorageLocation, []error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, []error{typeProblem(name, "a mapping of location names to [Driver, {params}]", v)}
	}
	var errs []error
	locs := make(map[string]StorageLocation, len(m))
	for _, loc := range slices.Sorted(maps.Keys(m)) {
		where := name + "." + loc
		pair, ok := m[loc].([]any)
		if !ok || len(pair) != 2 {
			errs = append(errs, typeProblem(where, "a two-element list [Driver, {params}]", m[loc]))
			continue
		}
		driver, ok := pair[0].(string)
		if !ok {
			errs = append(errs, typeProblem(where+"[0]", "a driver name", pair[0]))
			continue
		}
		params, ok := pair[1].(map[string]any)
		if pair[1] == nil {
			params, ok = map[string]any{}, true
		}
		if !ok {
			errs = append(errs, typeProblem(where+"[1]", "a mapping of driver parameters", pair[1]))
			continue
		}
		locs[loc] = StorageLocation{Driver: driver, Params: params}
	}
	return locs, errs
}

func typeProblem(name, want string, got any) error {
	return problemf(name, "want %s, got %s", want, show(name, got))
}

// show describes a value for a problem message. Problems end up in logs, so
// the value of a secret key (or of anything inside it) is masked.
func show(name string, v any) string {
	top, _, _ := strings.Cut(name, ".")
	top, _, _ = strings.Cut(top, "[")
	if isSecret(top) && v != nil {
		return strconv.Quote(mask(v))
	}
	return describe(v)
}

// describe renders v briefly: scalars as written, collections by kind only,
// because a whole nested structure would drown the message.
func describe(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case []any:
		return fmt.Sprintf("a list of %d items", len(t))
	case map[string]any, map[any]any:
		return "a mapping"
	default:
		return fmt.Sprintf("%v (%T)", t, t)
	}
}
