module github.com/hrissync/hrissync/examples/whatif

go 1.26.0

require github.com/hrissync/hrissync v0.0.0

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	go.opentelemetry.io/otel v1.47.0 // indirect
	go.opentelemetry.io/otel/metric v1.47.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
)

replace github.com/hrissync/hrissync => ../..
