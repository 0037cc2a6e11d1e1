//go:build tools

// Package emulator pins the BigQuery emulator that the BigQuery sink's tests
// run against. It is a module of its own so that the emulator's cgo
// dependencies (ZetaSQL) stay out of asana-beam's go.mod.
package emulator

import _ "github.com/goccy/bigquery-emulator/cmd/bigquery-emulator"
