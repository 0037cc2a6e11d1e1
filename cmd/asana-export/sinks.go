package main

// The sinks asana-export writes to, one line each: a sink registers itself
// (sinks.Register) with its flags, and --sink chooses it by name.
import (
	_ "github.com/asana-beam/asana-beam/sinks/bigquery"
	_ "github.com/asana-beam/asana-beam/sinks/parquet"
)
