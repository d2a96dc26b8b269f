// Wrapper module that builds the Pulumi CLI from github.com/pulumi/pulumi/pkg/v3 (main package
// cmd/pulumi). pkg's go.mod points sdk/v3 at ../sdk and atotto/clipboard at a fork; `go install`
// refuses such modules and a dependency's replaces are ignored, so this module requires pkg and sdk
// at the same tag and carries the clipboard replace itself. The version matches the npm SDK
// (@pulumi/pulumi 3.248.0, the last release that supports Node 20): change them together.
//
// The checksum database reachable from the build machines (through the module proxy) has no entry
// for pkg/v3 v3.248.0, so its go.sum lines were computed from the proxy's zip with
// GONOSUMDB=github.com/pulumi/pulumi/pkg/v3, not checked against sum.golang.org; every other line
// was. Where sum.golang.org is reachable, `go mod download -json github.com/pulumi/pulumi/pkg/v3`
// after deleting those two lines verifies them.
module landlord.dev/tools/pulumi

go 1.26.0

require (
	github.com/pulumi/pulumi/pkg/v3 v3.248.0
	github.com/pulumi/pulumi/sdk/v3 v3.248.0
)

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
