package imagebuild

import (
	"archive/tar"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// baseConfig is the config of the base image of the config tests.
var baseConfig = v1.Config{
	Env:    []string{"PATH=/usr/bin:/bin", "LANG=C"},
	Cmd:    []string{"base-cmd"},
	Labels: map[string]string{"from.base": "yes", "override": "base"},
}

func TestConfigInstructions(t *testing.T) {
	base := testImage(t, baseConfig, []tarEntry{{name: "etc/", typ: tar.TypeDir, mode: 0o755}, {name: "etc/os-release", body: "base"}})
	reg := &registry{images: map[string]v1.Image{"example.com/base:1": base}}
	ctxDir := writeContext(t, map[string]fsEntry{"app.bin": {body: "binary", mode: 0o755}})
	tests := []struct {
		name        string
		ins         []dockerfile.Instruction
		want        v1.Config
		wantAuthor  string
		wantHistory []string
	}{{
		name: "environment and labels",
		ins: []dockerfile.Instruction{
			&dockerfile.Env{Base: src("ENV"), Pairs: []dockerfile.KeyValue{{Key: "APP", Value: "/opt/app"}, {Key: "LANG", Value: "C.UTF-8"}}},
			&dockerfile.Env{Base: src("ENV"), Pairs: []dockerfile.KeyValue{{Key: "BIN", Value: "$APP/bin"}, {Key: "APP", Value: "/srv"}, {Key: "OLD", Value: "${APP}"}}},
			&dockerfile.Label{Base: src("LABEL"), Pairs: []dockerfile.KeyValue{{Key: "override", Value: `"in stage"`}, {Key: "where", Value: "$BIN"}}},
		},
		want: v1.Config{
			Env:    []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "APP=/srv", "BIN=/opt/app/bin", "OLD=/opt/app"},
			Cmd:    []string{"base-cmd"},
			Labels: map[string]string{"from.base": "yes", "override": "in stage", "where": "/opt/app/bin"},
		},
		wantHistory: []string{"ENV APP=/opt/app LANG=C.UTF-8", "ENV BIN=/opt/app/bin APP=/srv OLD=/opt/app", "LABEL override=in stage where=/opt/app/bin"},
	}, {
		name: "entrypoint drops the base's CMD",
		ins: []dockerfile.Instruction{
			&dockerfile.Entrypoint{Base: src("ENTRYPOINT"), Command: dockerfile.Command{Args: []string{"/app", "--serve"}}},
		},
		want:        v1.Config{Env: baseConfig.Env, Labels: baseConfig.Labels, Entrypoint: []string{"/app", "--serve"}},
		wantHistory: []string{`ENTRYPOINT ["/app" "--serve"]`},
	}, {
		name: "CMD set in the stage survives ENTRYPOINT",
		ins: []dockerfile.Instruction{
			&dockerfile.Cmd{Base: src("CMD"), Command: dockerfile.Command{Args: []string{"--help"}}},
			&dockerfile.Entrypoint{Base: src("ENTRYPOINT"), Command: dockerfile.Command{Args: []string{"/app"}}},
		},
		want:        v1.Config{Env: baseConfig.Env, Labels: baseConfig.Labels, Cmd: []string{"--help"}, Entrypoint: []string{"/app"}},
		wantHistory: []string{`CMD ["--help"]`, `ENTRYPOINT ["/app"]`},
	}, {
		name: "shell form uses SHELL",
		ins: []dockerfile.Instruction{
			&dockerfile.Cmd{Base: src("CMD"), Command: dockerfile.Command{Args: []string{"echo $HOME"}, Shell: true}},
			&dockerfile.Shell{Base: src("SHELL"), Shell: []string{"/bin/bash", "-eo", "pipefail", "-c"}},
			&dockerfile.Entrypoint{Base: src("ENTRYPOINT"), Command: dockerfile.Command{Args: []string{"exec app"}, Shell: true}},
		},
		want: v1.Config{
			Env: baseConfig.Env, Labels: baseConfig.Labels,
			Cmd:        []string{"/bin/sh", "-c", "echo $HOME"},
			Entrypoint: []string{"/bin/bash", "-eo", "pipefail", "-c", "exec app"},
			Shell:      []string{"/bin/bash", "-eo", "pipefail", "-c"},
		},
		wantHistory: []string{`CMD ["/bin/sh" "-c" "echo $HOME"]`, `SHELL ["/bin/bash" "-eo" "pipefail" "-c"]`, `ENTRYPOINT ["/bin/bash" "-eo" "pipefail" "-c" "exec app"]`},
	}, {
		name: "runtime settings",
		ins: []dockerfile.Instruction{
			&dockerfile.Arg{Base: src("ARG"), Args: []dockerfile.ArgDecl{{Name: "PORT", Default: strp("8080")}, {Name: "UNSET"}}},
			&dockerfile.Workdir{Base: src("WORKDIR"), Path: "/srv"},
			&dockerfile.Workdir{Base: src("WORKDIR"), Path: "app/../www"},
			&dockerfile.User{Base: src("USER"), User: "app:staff"},
			&dockerfile.Expose{Base: src("EXPOSE"), Ports: []string{"$PORT", "53/UDP", "9000-9002/tcp"}},
			&dockerfile.Volume{Base: src("VOLUME"), Paths: []string{"/data", "/var/log"}},
			&dockerfile.Stopsignal{Base: src("STOPSIGNAL"), Signal: "SIGQUIT"},
			&dockerfile.Maintainer{Base: src("MAINTAINER"), Name: "Jo <jo@example.com>"},
			&dockerfile.Onbuild{Base: src("ONBUILD"), Expression: "COPY . /src"},
			&dockerfile.Healthcheck{Base: src("HEALTHCHECK --interval=5s CMD curl -f http://localhost/"), Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second, Retries: 3},
		},
		want: v1.Config{
			Env: baseConfig.Env, Labels: baseConfig.Labels, Cmd: baseConfig.Cmd,
			WorkingDir:   "/srv/www",
			User:         "app:staff",
			ExposedPorts: map[string]struct{}{"8080/tcp": {}, "53/udp": {}, "9000/tcp": {}, "9001/tcp": {}, "9002/tcp": {}},
			Volumes:      map[string]struct{}{"/data": {}, "/var/log": {}},
			StopSignal:   "SIGQUIT",
			OnBuild:      []string{"COPY . /src"},
			Healthcheck:  &v1.HealthConfig{Test: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: 5 * time.Second, Retries: 3},
		},
		wantAuthor: "Jo <jo@example.com>",
		wantHistory: []string{
			"ARG PORT=8080 UNSET", "WORKDIR /srv", "WORKDIR /srv/www", "USER app:staff",
			"EXPOSE 8080 53/UDP 9000-9002/tcp", "VOLUME /data /var/log", "STOPSIGNAL SIGQUIT",
			"MAINTAINER Jo <jo@example.com>", "ONBUILD COPY . /src", "HEALTHCHECK --interval=5s CMD curl -f http://localhost/",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts(t, ctxDir)
			o.Base = reg.base
			ins := append(tt.ins, cp("/usr/local/bin/", "app.bin"))
			img, err := Build(context.Background(), stages(newStage(from("example.com/base:1", ""), ins...)), o)
			if err != nil {
				t.Fatal(err)
			}
			cf := configFile(t, img)
			if diff := cmp.Diff(tt.want, cf.Config); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
			if cf.Author != tt.wantAuthor {
				t.Errorf("author %q, want %q", cf.Author, tt.wantAuthor)
			}
			if cf.OS != "linux" || cf.Architecture != "amd64" || !cf.Created.Equal(testNow) {
				t.Errorf("platform %s/%s created %v", cf.OS, cf.Architecture, cf.Created)
			}
			checkHistory(t, cf, 1, append(tt.wantHistory, "COPY app.bin /usr/local/bin/ # buildkit"))
			_, entries := lastLayer(t, img)
			if e, ok := entries["usr/local/bin/app.bin"]; !ok || e.body != "binary" || e.mode != 0o755 {
				t.Errorf("last layer has app.bin %+v (present %v)", e, ok)
			}
			m, err := img.Manifest()
			if err != nil {
				t.Fatal(err)
			}
			if m.MediaType != types.DockerManifestSchema2 || m.Layers[1].MediaType != types.DockerLayer {
				t.Errorf("media types %s / %s, want the Docker base's", m.MediaType, m.Layers[1].MediaType)
			}
		})
	}
}

// checkHistory compares the history after the base's first `base` layers
// entries with created-by lines; only the last one adds a layer.
func checkHistory(t *testing.T, cf *v1.ConfigFile, base int, createdBy []string) {
	t.Helper()
	var want []v1.History
	for i, c := range createdBy {
		want = append(want, v1.History{Created: v1.Time{Time: testNow}, CreatedBy: c, Comment: historyComment, EmptyLayer: i < len(createdBy)-1})
	}
	if len(cf.History) < base {
		t.Fatalf("history %v is shorter than the base's", cf.History)
	}
	if diff := cmp.Diff(want, cf.History[base:]); diff != "" {
		t.Errorf("history (-want +got):\n%s", diff)
	}
	if n := len(cf.RootFS.DiffIDs); n != 2 {
		t.Errorf("%d diff ids, want 2", n)
	}
}

func TestBaseWithOnbuildRefused(t *testing.T) {
	base := testImage(t, v1.Config{OnBuild: []string{"COPY . /app"}}, []tarEntry{{name: "f", body: "x"}})
	o := opts(t, "")
	o.Base = (&registry{images: map[string]v1.Image{"trigger": base}}).base
	_, err := Build(context.Background(), stages(newStage(from("trigger", ""))), o)
	if err == nil || !strings.Contains(err.Error(), "ONBUILD triggers of the base image") {
		t.Fatalf("err = %v, want the ONBUILD refusal", err)
	}
}

func TestExposeInvalid(t *testing.T) {
	for _, port := range []string{"http", "80/icmp", "9-1", "70000"} {
		t.Run(port, func(t *testing.T) {
			ins := &dockerfile.Expose{Base: src("EXPOSE"), Ports: []string{port}}
			if _, err := Build(context.Background(), stages(newStage(from("scratch", ""), ins)), opts(t, "")); err == nil {
				t.Fatal("Build succeeded")
			}
		})
	}
}
