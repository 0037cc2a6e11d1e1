//go:build !unix

package parquet

import (
	"errors"
	"os"
)

// haveFlock: without flock(2), local runs are locked as on gs://, by the
// age of their lock file.
const haveFlock = false

const oNoFollow = 0

func lockShared(*os.File) error { return errors.ErrUnsupported }

func tryLockExclusive(*os.File) (bool, error) { return false, errors.ErrUnsupported }
