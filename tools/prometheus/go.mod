// Wrapper module that builds prometheus and promtool from github.com/prometheus/prometheus
// (Prometheus 3.x publishes its Go module as v0.3MM.P for release 3.MM.P: v0.316.0 is 3.16.0). The
// pin lives here, in one file the build cache is keyed on, like the other tools'.
module landlord.dev/tools/prometheus

go 1.26.7

require github.com/prometheus/prometheus v0.316.0
