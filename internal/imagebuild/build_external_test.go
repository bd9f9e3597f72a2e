package imagebuild

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/wharf-registry/wharf/internal/dockerfile"
)

func TestExternalImages(t *testing.T) {
	for _, tc := range []struct {
		name, dockerfile, target string
		want                     []string
	}{
		{"one base", "FROM acme/base:1\nRUN true\n", "", []string{"acme/base:1"}},
		{"scratch", "FROM scratch\nCOPY a /\n", "", nil},
		{"meta arg", "ARG TAG=v2\nFROM acme/base:$TAG\n", "", []string{"acme/base:v2"}},
		{"stages and copy --from", "FROM acme/go AS build\nRUN make\nFROM scratch\nCOPY --from=build /out /\nCOPY --from=acme/tools:1 /bin/x /\n", "",
			[]string{"acme/go", "acme/tools:1"}},
		{"unneeded stage", "FROM acme/unused AS a\nFROM acme/used AS b\n", "b", []string{"acme/used"}},
		{"twice", "FROM acme/x AS a\nFROM acme/x\n", "", []string{"acme/x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			df, err := dockerfile.Parse(strings.NewReader(tc.dockerfile))
			if err != nil {
				t.Fatal(err)
			}
			got, err := ExternalImages(df, Options{Target: tc.target})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ExternalImages (-want +got):\n%s", diff)
			}
		})
	}
}
