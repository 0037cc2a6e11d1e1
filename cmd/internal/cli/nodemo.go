//go:build nodemo

package cli

import (
	"errors"
	"time"

	"github.com/asana-beam/asana-beam/sources/asana"
)

// DemoBuilt reports whether this build can serve --demo: this one, tagged
// nodemo (the Airbyte image's), carries no simulator.
const DemoBuilt = false

// Demo is absent from this build.
type Demo struct {
	Window time.Duration
}

// NewDemo says that this build has no simulator.
func NewDemo(string) (*Demo, error) {
	return nil, errors.New("--demo: this build has no simulated account (built with -tags nodemo, as the Airbyte image is); build without the tag to use it")
}

// Config is never called: NewDemo fails.
func (d *Demo) Config() *asana.Config { return nil }

// Close is never called: NewDemo fails.
func (d *Demo) Close() {}
