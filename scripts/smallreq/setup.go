package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

const (
	mediaManifest = "application/vnd.oci.image.manifest.v1+json"
	adminUser     = "smalladmin"
	adminPassword = "smalladmin-password-1"
	repo          = adminUser + "/app"
	pageUsers     = 100
)

// The request types, in the order they are reported.
var requestKinds = []string{"manifest GET (token)", "blob HEAD", "blob GET 4 KiB", "/v2/auth (cached)", "users page (100)", "logs page"}

// image is the one image every server serves: a config, a 4 KiB layer and
// the manifest naming them.
type image struct {
	config, layer, manifest []byte
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func sampleImage() image {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := bytes.Repeat([]byte("wharf small requests "), 4096/21+1)[:4096]
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mediaManifest,
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}}})
	return image{config: config, layer: layer, manifest: manifest}
}

// call sends one request and returns the body, failing on a status other
// than want.
func call(c *http.Client, req *http.Request, want int) ([]byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

func newRequest(method, url string, body []byte, header ...string) *http.Request {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, url, rd)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// push uploads the image to base/v2/<name> (monolithic blob uploads, then
// the manifest as tag v1), sending bearer when not empty.
func push(c *http.Client, base, name, bearer string, img image) error {
	auth := []string{}
	if bearer != "" {
		auth = []string{"Authorization", "Bearer " + bearer}
	}
	for _, b := range [][]byte{img.config, img.layer} {
		// POST then PUT with the body: the monolithic upload every
		// registry supports (Distribution answers a POST with ?digest=
		// with a session instead).
		resp, err := c.Do(newRequest("POST", base+"/v2/"+name+"/blobs/uploads/", nil, auth...))
		if err != nil {
			return err
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if resp.StatusCode != http.StatusAccepted || err != nil {
			return fmt.Errorf("POST %s/blobs/uploads/: %d, Location %v", name, resp.StatusCode, err)
		}
		q := loc.Query()
		q.Set("digest", digest(b))
		loc.RawQuery = q.Encode()
		req := newRequest("PUT", loc.String(), b, append(auth, "Content-Type", "application/octet-stream")...)
		if _, err := call(c, req, http.StatusCreated); err != nil {
			return err
		}
	}
	req := newRequest("PUT", base+"/v2/"+name+"/manifests/v1", img.manifest, append(auth, "Content-Type", mediaManifest)...)
	_, err := call(c, req, http.StatusCreated)
	return err
}

// registryToken asks wharf's token endpoint for scope with the admin's password.
func registryToken(t *target, scope string) (string, error) {
	req := newRequest("GET", t.base+"/v2/auth?service="+url.QueryEscape(strings.TrimPrefix(t.base, "http://"))+"&scope="+url.QueryEscape(scope), nil)
	req.SetBasicAuth(adminUser, adminPassword)
	body, err := call(t.client, req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var tok struct{ Token string }
	return tok.Token, json.Unmarshal(body, &tok)
}

// prepareWharf makes the first user (keeping its API token), pages' worth of
// users, pushes the image and gets a pull token.
func prepareWharf(t *target) error {
	img := sampleImage()
	body, err := call(t.client, newRequest("POST", t.base+"/api/v1/user/initialize", []byte(`{"username":"`+adminUser+`","password":"`+
		adminPassword+`","email":"small@example.com","access_token":true}`), "Content-Type", "application/json"), http.StatusOK)
	if err != nil {
		return err
	}
	var init struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &init); err != nil {
		return err
	}
	api := []string{"Authorization", "Bearer " + init.AccessToken, "Content-Type", "application/json"}
	for i := range pageUsers {
		u := fmt.Sprintf(`{"username":"user%03d","email":"user%03d@example.com"}`, i, i)
		if _, err := call(t.client, newRequest("POST", t.base+"/api/v1/superuser/users/", []byte(u), api...), http.StatusOK); err != nil {
			return err
		}
	}
	pushToken, err := registryToken(t, "repository:"+repo+":pull,push")
	if err != nil {
		return err
	}
	if err := push(t.client, t.base, repo, pushToken, img); err != nil {
		return err
	}
	pull, err := registryToken(t, "repository:"+repo+":pull")
	if err != nil {
		return err
	}
	bearer := []string{"Authorization", "Bearer " + pull}
	addBlobRequests(t, repo, img, bearer)
	t.requests["/v2/auth (cached)"] = func() (*http.Request, error) {
		req := newRequest("GET", t.base+"/v2/auth?service=x&scope="+url.QueryEscape("repository:"+repo+":pull"), nil)
		req.SetBasicAuth(adminUser, adminPassword)
		return req, nil
	}
	t.requests["users page (100)"] = func() (*http.Request, error) {
		return newRequest("GET", t.base+fmt.Sprintf("/api/v1/superuser/users/?limit=%d", pageUsers), nil, api...), nil
	}
	t.requests["logs page"] = func() (*http.Request, error) {
		return newRequest("GET", t.base+"/api/v1/superuser/logs", nil, api...), nil
	}
	return nil
}

// addBlobRequests registers the registry requests every server answers.
func addBlobRequests(t *target, name string, img image, header []string) {
	t.requests["manifest GET (token)"] = func() (*http.Request, error) {
		return newRequest("GET", t.base+"/v2/"+name+"/manifests/v1", nil, append(header, "Accept", mediaManifest)...), nil
	}
	t.requests["blob HEAD"] = func() (*http.Request, error) {
		return newRequest("HEAD", t.base+"/v2/"+name+"/blobs/"+digest(img.layer), nil, header...), nil
	}
	t.requests["blob GET 4 KiB"] = func() (*http.Request, error) {
		return newRequest("GET", t.base+"/v2/"+name+"/blobs/"+digest(img.layer), nil, header...), nil
	}
}

func prepareDistribution(t *target) error {
	img := sampleImage()
	if err := push(t.client, t.base, repo, "", img); err != nil {
		return err
	}
	addBlobRequests(t, repo, img, nil)
	return nil
}

func prepareFloor(t *target) error {
	addBlobRequests(t, repo, sampleImage(), nil)
	return nil
}
