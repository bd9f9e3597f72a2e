package main

// quay_tag and quay_tag_info of TestAnsibleModules, replayed call by call
// as the collection's modules make them (quay-clients.md §3; the module's
// decisions follow plugins/modules/quay_tag.py and APIModule.get_tags).

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// getTags is APIModule.get_tags: every page of GET …/tag/ with
// onlyActiveTags, limit=100 and specificTag when tag is set; with digest
// (and no tag) only the items of that manifest. A missing repository is an
// empty list (get_object_path: 404 → None).
func getTags(t *testing.T, c *client, ns, repo, tag, digest string, onlyActive bool) []map[string]any {
	t.Helper()
	var list []map[string]any
	for page := 1; ; page++ {
		q := url.Values{"onlyActiveTags": {pyBool(onlyActive)}, "limit": {"100"}, "page": {fmt.Sprint(page)}}
		if tag != "" {
			q.Set("specificTag", tag)
		}
		v := c.exists("repository/" + ns + "/" + repo + "/tag/?" + q.Encode())
		if v == nil {
			return list
		}
		for _, item := range objects(t, v["tags"], "tags") {
			if tag != "" || digest == "" || item["manifest_digest"] == digest {
				list = append(list, item)
			}
		}
		if more, _ := v["has_additional"].(bool); !more {
			return list
		}
	}
}

// pyBool is how urlencode writes a Python bool.
func pyBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

// tagTask is what one quay_tag task asks for. expiration is nil when the
// task does not set it, "" to remove it, or seconds since the epoch.
type tagTask struct {
	image, tag string
	expiration any
	absent     bool
}

// quayTag is one quay_tag run; it reports whether the module says changed.
func quayTag(t *testing.T, c *client, task tagTask) bool {
	t.Helper()
	ref, imgTag, digest := task.image, "latest", ""
	if r, d, ok := strings.Cut(ref, "@"); ok {
		ref, digest, imgTag = r, d, ""
	} else if i := strings.LastIndex(ref, ":"); i >= 0 {
		ref, imgTag = ref[:i], ref[i+1:]
	}
	ns, repo, _ := strings.Cut(ref, "/")
	if c.exists("organization/"+ns) == nil {
		t.Fatalf("quay_tag: namespace %s does not exist", ns)
	}
	path := "repository/" + ns + "/" + repo + "/tag/"
	if task.absent {
		victim := task.tag
		if victim == "" {
			victim = imgTag
		}
		r := c.call("DELETE", path+victim, nil)
		if r.Status == 400 || r.Status == 404 {
			return false
		}
		expect(t, r, okDelete...)
		return true
	}
	tags := getTags(t, c, ns, repo, imgTag, digest, true)
	names := map[string]map[string]any{}
	for _, item := range tags {
		names[item["name"].(string)] = item
	}
	if (task.tag == "" || names[task.tag] != nil) && task.expiration == nil {
		return false
	}
	newFields := map[string]any{"expiration": nil}
	if ts, ok := task.expiration.(int64); ok {
		newFields["expiration"] = ts
	}
	if len(tags) == 0 {
		t.Fatalf("quay_tag: the %s image does not exist", task.image)
	}
	// update: PUT when a new field differs from the tag's end_ts.
	update := func(name string, cur map[string]any) bool {
		if jsonEqual(cur["end_ts"], newFields["expiration"]) {
			return false
		}
		expect(t, c.call("PUT", path+name, newFields), okUpdate...)
		return true
	}
	if task.tag == "" || names[task.tag] != nil {
		cur := tags[0]
		if task.tag != "" {
			cur = names[task.tag]
		}
		return update(cur["name"].(string), cur)
	}
	manifest, _ := tags[0]["manifest_digest"].(string)
	if manifest == "" {
		t.Fatalf("quay_tag: no manifest_digest in %s", js(tags[0]))
	}
	existing := getTags(t, c, ns, repo, task.tag, "", true)
	if len(existing) > 0 && existing[0]["manifest_digest"] == manifest {
		return update(task.tag, existing[0])
	}
	expect(t, c.call("PUT", path+task.tag, map[string]any{"manifest_digest": manifest}), okUpdate...)
	update(task.tag, map[string]any{})
	return true
}

// tagNames lists the names of a get_tags answer, in its order.
func tagNames(list []map[string]any) []string {
	names := make([]string, 0, len(list))
	for _, item := range list {
		name, _ := item["name"].(string)
		names = append(names, name)
	}
	return names
}

// quayTags runs quay_tag and quay_tag_info against two images pushed to a
// repository of a new organization.
func (m *modules) quayTags(t *testing.T) {
	org := "ansible-tags-" + m.suffix
	m.run(t, func(c *client) {
		expect(t, c.call("POST", "organization/", map[string]any{"name": org}), okCreate...)
	})
	repo := org + "/app"
	reg := newRegistryClient(m.srv.URL, m.adminUser, m.adminPass)
	first, second := newTestImage(t, "tag-one"), newTestImage(t, "tag-two")
	for tag, img := range map[string]*image{"v1": first, "v3": second} {
		if o := pushSmallImage(context.Background(), reg, repo, tag, img); o.err != nil || o.refused != nil {
			t.Fatalf("push %s:%s: %s %v %v", repo, tag, o.step, o.err, o.refused)
		}
	}
	inTwoDays := time.Now().Add(48 * time.Hour).Unix()
	steps := []struct {
		name string
		task tagTask
	}{
		{"add latest to v1", tagTask{image: repo + ":v1", tag: "latest"}},
		{"add v2 by digest", tagTask{image: repo + "@" + first.digest, tag: "v2"}},
		{"expire v1", tagTask{image: repo + ":v1", expiration: inTwoDays}},
		{"expire v1 a day later, named through latest", tagTask{image: repo + ":latest", tag: "v1", expiration: inTwoDays + 86400}},
		{"never expire v1", tagTask{image: repo + ":v1", expiration: ""}},
		{"move v1 to the second image", tagTask{image: repo + ":v3", tag: "v1"}},
		{"remove latest", tagTask{image: repo + ":latest", absent: true}},
		{"remove v2 named by tag", tagTask{image: repo + ":v3", tag: "v2", absent: true}},
	}
	for _, step := range steps {
		t.Run("quay_tag "+step.name, func(t *testing.T) {
			m.converge(t, step.name, func(c *client) int {
				if quayTag(t, c, step.task) {
					return 1
				}
				return 0
			})
		})
	}
	t.Run("quay_tag_info", func(t *testing.T) {
		m.run(t, func(c *client) {
			active := getTags(t, c, org, "app", "", "", true)
			if got := tagNames(active); len(got) != 2 || !slices.Contains(got, "v1") || !slices.Contains(got, "v3") {
				t.Errorf("active tags %q, want v1 and v3", got)
			}
			for _, item := range active {
				if item["manifest_digest"] != second.digest || item["end_ts"] != nil {
					t.Errorf("active tag %s, want %s and no end_ts", js(item), second.digest)
				}
			}
			// only_active_tags defaults to false: the history, expired lives included.
			history := getTags(t, c, org, "app", "v1", "", false)
			if len(history) < 2 || history[0]["manifest_digest"] != second.digest || history[len(history)-1]["manifest_digest"] != first.digest {
				t.Errorf("v1 history %s: want the second image's lifetime first, the first image's last", js(history))
			}
			if got := getTags(t, c, org, "app", "", first.digest, false); len(got) < 3 {
				t.Errorf("history of %s: %q, want the lives of v1, latest and v2", first.digest, tagNames(got))
			}
			if got := getTags(t, c, org, "missing", "", "", false); len(got) != 0 {
				t.Errorf("tags of a missing repository: %s", js(got))
			}
		})
	})
	t.Run("quay_tag_info pages", func(t *testing.T) {
		m.run(t, func(c *client) {
			for i := range 101 {
				expect(t, c.call("PUT", fmt.Sprintf("repository/%s/tag/many-%03d", repo, i),
					map[string]any{"manifest_digest": second.digest}), okUpdate...)
			}
			if got := getTags(t, c, org, "app", "", "", true); len(got) != 103 {
				t.Errorf("%d active tags over the pages, want 103", len(got))
			}
		})
	})
}
