//go:build !nodemo

package cli

import (
	"fmt"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
	"github.com/asana-beam/asana-beam/sources/asana/asanatest"
)

// DemoBuilt reports whether this build can serve --demo (builds tagged
// nodemo, such as the Airbyte image's, carry no simulator).
const DemoBuilt = true

// Demo serves a simulated Asana account in this process for --demo: a
// paid plan's limit (1,500 requests per window) and Asana's latency
// (100-300 ms), with time running ten times faster, so that the window is
// six seconds and a small account takes seconds, not minutes.
type Demo struct {
	*asanatest.Server
	// Window is the demo's rate-limit window; clients must use it too.
	Window time.Duration
}

// demoSpeedup is how much faster time runs in the demo.
const demoSpeedup = 10

// NewDemo starts a simulated account of size (tiny, small, medium, large).
func NewDemo(size string) (*Demo, error) {
	ok := false
	for _, s := range asanatest.Sizes() {
		ok = ok || s == size
	}
	if !ok {
		return nil, fmt.Errorf("--demo-size: want one of %v, got %q", asanatest.Sizes(), size)
	}
	window := time.Minute / demoSpeedup
	srv := asanatest.NewServer(asanatest.Options{Seed: 1, Size: size, ServiceAccount: true,
		RPM: asana.DefaultRequestsPerMinute, Window: window,
		LatencyMin: 100 * time.Millisecond / demoSpeedup, LatencyMax: 300 * time.Millisecond / demoSpeedup})
	return &Demo{Server: srv, Window: window}, nil
}

// Config returns a configuration that reads the whole demo account.
func (d *Demo) Config() *asana.Config {
	cfg := asana.NewConfig(asana.Credentials{PersonalAccessToken: asana.Secret(d.PAT())})
	cfg.BaseURL, cfg.OrganizationExportIDs = d.URL, d.Account().OrganizationExports()
	return cfg
}
