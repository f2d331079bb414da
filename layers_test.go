package internbot_test

import (
	"go/build"
	"strings"
	"testing"
)

// TestPackageImports keeps the layers apart: each package comment says what the package must not
// import, and this is where that is checked (test files are free to use real implementations).
func TestPackageImports(t *testing.T) {
	const mod = "github.com/internbot/internbot"
	for _, tc := range []struct {
		dir       string
		forbidden []string // import path prefixes; mod+"/" is every other package of the module
	}{
		{".", []string{mod + "/", "github.com/"}},
		{"storage", []string{mod + "/", "github.com/slack-go/"}},
		{"remind", []string{mod + "/bot", mod + "/storage", mod + "/slackemu", mod + "/console", mod + "/export", "github.com/slack-go/"}},
		{"export", []string{mod + "/", "github.com/slack-go/"}},
		{"bot", []string{mod + "/storage", mod + "/slackemu", mod + "/console", mod + "/loadtest"}},
		{"config", []string{mod + "/bot", mod + "/remind", mod + "/storage", mod + "/export", mod + "/slackemu", "github.com/slack-go/"}},
		{"posting", []string{mod + "/", "github.com/slack-go/"}},
		{"slackemu", []string{mod + "/"}},
		{"ops", []string{mod + "/"}},
	} {
		pkg, err := build.ImportDir(tc.dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.dir, err)
		}
		for _, imp := range pkg.Imports {
			for _, f := range tc.forbidden {
				if strings.HasPrefix(imp, f) {
					t.Errorf("package %s imports %s", tc.dir, imp)
				}
			}
		}
	}
}
