package imagebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

// These tests run Dockerfiles as written, through dockerfile.Parse.

func parse(t *testing.T, text string) *dockerfile.Dockerfile {
	t.Helper()
	df, err := dockerfile.Parse(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return df
}

const appDockerfile = `# syntax=docker/dockerfile:1
ARG BASE=example.com/base:1
FROM ${BASE} AS base
ENV APP_HOME=/opt/app
WORKDIR $APP_HOME
COPY --chown=app:staff *.txt ./
ARG VERSION
LABEL org.opencontainers.image.version="${VERSION:-dev}" \
      description="an app"

FROM base AS tests
RUN make test

FROM scratch AS final
COPY --from=base /opt/app/ /app/
ADD pkg.tgz /opt/
EXPOSE 8080 9090/udp
USER 1000:1000
ENTRYPOINT ["/app/server"]
CMD serve --port 8080
HEALTHCHECK --interval=30s --retries=2 CMD ["/app/server", "-health"]
`

func TestParsedDockerfile(t *testing.T) {
	base := testImage(t, v1.Config{Env: []string{"PATH=/bin"}}, []tarEntry{
		{name: "etc/passwd", body: "app:x:100:100::/:/bin/sh\n"},
		{name: "etc/group", body: "staff:x:50:\n"},
	})
	reg := &registry{images: map[string]v1.Image{"example.com/base:1": base}}
	ctxDir := writeContext(t, map[string]fsEntry{
		"a.txt":   {body: "a"},
		"b.txt":   {body: "b"},
		"c.md":    {body: "c"},
		"pkg.tgz": {body: gzipped(t, tarBytes(t, []tarEntry{{name: "pkg/lib.so", body: "lib"}}))},
	})
	o := opts(t, ctxDir)
	log := &recLog{}
	o.Base, o.Log = reg.base, log
	o.BuildArgs = map[string]string{"VERSION": "1.2.3"}
	img, err := Build(context.Background(), parse(t, appDockerfile), o)
	if err != nil {
		t.Fatal(err)
	}
	wantSteps := []string{
		"1/14 FROM ${BASE} AS base", "2/14 ENV APP_HOME=/opt/app", "3/14 WORKDIR $APP_HOME",
		"4/14 COPY --chown=app:staff *.txt ./", "5/14 ARG VERSION",
		`6/14 LABEL org.opencontainers.image.version="${VERSION:-dev}" description="an app"`,
		"7/14 FROM scratch AS final", "8/14 COPY --from=base /opt/app/ /app/", "9/14 ADD pkg.tgz /opt/",
		"10/14 EXPOSE 8080 9090/udp", "11/14 USER 1000:1000", `12/14 ENTRYPOINT ["/app/server"]`,
		"13/14 CMD serve --port 8080", `14/14 HEALTHCHECK --interval=30s --retries=2 CMD ["/app/server", "-health"]`,
	}
	if diff := cmp.Diff(wantSteps, log.steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	cf := configFile(t, img)
	want := v1.Config{
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "9090/udp": {}},
		User:         "1000:1000",
		Entrypoint:   []string{"/app/server"},
		Cmd:          []string{"/bin/sh", "-c", "serve --port 8080"},
		Healthcheck:  &v1.HealthConfig{Test: []string{"CMD", "/app/server", "-health"}, Interval: 30 * time.Second, Retries: 2},
	}
	if diff := cmp.Diff(want, cf.Config); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != 2 {
		t.Fatalf("%d layers, want 2", len(layers))
	}
	_, app := readLayer(t, layers[0])
	for _, name := range []string{"app/a.txt", "app/b.txt"} {
		if e := app[name]; e.uid != 100 || e.gid != 50 {
			t.Errorf("%s owned by %d:%d, want app:staff (100:50) kept from the base stage", name, e.uid, e.gid)
		}
	}
	if _, ok := app["app/c.md"]; ok {
		t.Error("*.txt copied c.md")
	}
	if _, pkg := readLayer(t, layers[1]); pkg["opt/pkg/lib.so"].body != "lib" {
		t.Errorf("ADD did not unpack pkg.tgz: %v", pkg)
	}

	o.Target, o.Log = "base", nil
	baseImg, err := Build(context.Background(), parse(t, appDockerfile), o)
	if err != nil {
		t.Fatal(err)
	}
	labels := configFile(t, baseImg).Config.Labels
	if diff := cmp.Diff(map[string]string{"org.opencontainers.image.version": "1.2.3", "description": "an app"}, labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}

	o.Target = "tests"
	if _, err := Build(context.Background(), parse(t, appDockerfile), o); !errors.Is(err, ErrRunUnsupported) {
		t.Errorf("target with RUN: err = %v", err)
	}
}

func TestParsedEscapeDirective(t *testing.T) {
	// With escape=` a backslash is an ordinary character and ` continues
	// lines and quotes the next character.
	const text = "# escape=`\nFROM scratch\nENV DIR=/srv\nCOPY a.txt `\n     ${DIR}/\nLABEL literal=`$DIR win=C:\\data\n"
	ctxDir := writeContext(t, map[string]fsEntry{"a.txt": {body: "a"}})
	img, err := Build(context.Background(), parse(t, text), opts(t, ctxDir))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string{"literal": "$DIR", "win": `C:\data`}, configFile(t, img).Config.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	names, _ := lastLayer(t, img)
	if diff := cmp.Diff([]string{"srv/", "srv/a.txt"}, names); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}
}
