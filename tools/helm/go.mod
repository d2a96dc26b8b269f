// Wrapper module that builds helm from helm.sh/helm/v3 (main package cmd/helm). Helm's go.mod has
// no replace lines, so `go install` would work too; a wrapper keeps the pin in one file that the
// build cache is keyed on, like the control plane's. The newest v3 release on the module proxy
// that builds with Go 1.26.
module landlord.dev/tools/helm

go 1.26.0

require helm.sh/helm/v3 v3.22.0
