// Package version holds the version of lbd's commands, which the build
// sets from git (make build, make deb):
//
//	go build -ldflags "-X github.com/lbd-project/lbd/internal/version.Version=V" ./cmd/...
//
// A plain go build leaves it "devel".
package version

// Version is the version lbd --version, ipvsctl --version and
// lbd-genhash --version print.
var Version = "devel"
