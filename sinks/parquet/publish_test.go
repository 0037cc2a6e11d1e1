package parquet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs" // gs:// stand-in
	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"

	"github.com/asana-beam/asana-beam/sinks"
	"github.com/asana-beam/asana-beam/sources/asana/schemas"
)

// These tests drive the sink without a runner: a run is bundles of the
// generic sinks.WriteFn (one per file) and one call of Export.Publish.
// memfs:// stands in for gs://: a filesystem without symbolic links or
// locks, whose objects are replaced whole.

var memfsDirs int

// newDir returns an empty export directory: local, or in memfs.
func newDir(t *testing.T, remote bool) string {
	t.Helper()
	if remote {
		memfsDirs++
		return fmt.Sprintf("memfs://%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), memfsDirs)
	}
	return filepath.Join(t.TempDir(), "export")
}

func newExport(t *testing.T, dir string, streams ...string) Export {
	t.Helper()
	e := Export{Dir: dir, RunID: NewRunID(time.Now()), Schemas: map[string]string{}, StartedAt: time.Now().UTC()}
	for _, s := range streams {
		raw, ok := schemas.Raw(s)
		if !ok {
			t.Fatalf("no schema for %s", s)
		}
		e.Schemas[s] = string(raw)
	}
	return e
}

// writeRun writes files[stream] files of rows each per stream, one bundle
// per file, and returns them as Publish gets them.
func writeRun(t *testing.T, e Export, files map[string][]int) ([]sinks.Part, error) {
	t.Helper()
	ctx := context.Background()
	fn := writeFn(t, e)
	if err := fn.Setup(ctx); err != nil {
		return nil, err
	}
	var out []sinks.Part
	gid := 1000
	for stream, sizes := range files {
		for _, n := range sizes {
			fn.StartBundle(ctx, nil)
			for range n {
				gid++
				rec := sinks.Record{Stream: stream, Key: fmt.Sprint(gid), Data: fmt.Appendf(nil, `{"gid":"%d","name":"n%d"}`, gid, gid)}
				if err := fn.ProcessElement(ctx, rec, nil); err != nil {
					return nil, err
				}
			}
			if err := fn.FinishBundle(ctx, func(f sinks.Part) { out = append(out, f) }); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// writeFn is the generic DoFn that writes the parts of e.
func writeFn(t *testing.T, e Export) *sinks.WriteFn {
	t.Helper()
	d, err := sinks.Describe(e)
	if err != nil {
		t.Fatal(err)
	}
	return &sinks.WriteFn{Desc: d}
}

func finalize(e Export, files []sinks.Part, reports ...sinks.Report) error {
	return e.Publish(context.Background(), files, reports)
}

// run writes and publishes a run.
func run(t *testing.T, e Export, files map[string][]int) error {
	t.Helper()
	fl, err := writeRun(t, e, files)
	if err != nil {
		return err
	}
	return finalize(e, fl)
}

// listing is every file under dir with its size (locally, symbolic links
// as "-> target"), for comparing a directory before and after.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if isRemote(dir) {
		fsys, _ := filesystem.New(context.Background(), dir)
		for _, pat := range []string{"/*", "/*/*", "/*/*/*", "/*/*/*/*"} {
			l, _ := fsys.List(context.Background(), dir+pat)
			for _, p := range l {
				n, _ := fsys.Size(context.Background(), p)
				out[strings.TrimPrefix(p, dir+"/")] = fmt.Sprint(n)
			}
		}
		return out
	}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "-> " + target
		case !fi.IsDir():
			b, _ := os.ReadFile(p)
			out[rel] = fmt.Sprintf("%d %x", len(b), b[len(b)/2:min(len(b), len(b)/2+8)])
		}
		return nil
	})
	return out
}

// checkExport checks that the manifest in dir is run's, that it names
// files holding the rows it counts, want per stream, and that nothing
// else is left (no other part file, no _tmp).
func checkExport(t *testing.T, dir, run string, want map[string]int64) {
	t.Helper()
	ctx := context.Background()
	m, err := ReadManifest(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.RunID != run {
		t.Fatalf("the manifest is of run %s, want %s", m.RunID, run)
	}
	got := map[string]int64{}
	var named []string
	for stream, ms := range m.Streams {
		got[stream] = ms.Records
		var rows int64
		for _, f := range ms.Files {
			named = append(named, f)
			rows += fileRows(t, join(dir, f))
		}
		if rows != ms.Records {
			t.Errorf("%s: the files hold %d rows, the manifest says %d", stream, rows, ms.Records)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records per stream (-want +manifest):\n%s", diff)
	}
	var files []string
	for p := range listing(t, dir) {
		if p != ManifestName {
			files = append(files, filepath.ToSlash(p))
		}
	}
	sort.Strings(files)
	sort.Strings(named)
	if diff := cmp.Diff(named, files); diff != "" {
		t.Errorf("files in %s (-named by the manifest +there):\n%s", dir, diff)
	}
}

func fileRows(t *testing.T, p string) int64 {
	t.Helper()
	ctx := context.Background()
	fsys, err := filesystem.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := filesystem.Read(ctx, fsys, p)
	if err != nil {
		t.Fatalf("reading %s: %v", p, err)
	}
	f, err := pq.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return f.NumRows()
}

func TestRunOfPart(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"part-20250101T000000Z-0a1b2c3d-00003.parquet", "20250101T000000Z-0a1b2c3d"},
		{"part-00000.parquet", ""},
		{"part-.parquet", ""},
		{"other.parquet", ""},
		{"part-x-00001.json", ""},
	} {
		if got := runOfPart(tc.name); got != tc.want {
			t.Errorf("runOfPart(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	if got, want := runOfPart(partName("R-1", 7)), "R-1"; got != want {
		t.Errorf("runOfPart(partName(%q, 7)) = %q", want, got)
	}
}

// TestPublishReplaces: a second run replaces the first, old-style names
// included, and leaves nothing else, locally and on a gs://-like store; a
// stream without records gets an empty file.
func TestPublishReplaces(t *testing.T) {
	for _, remote := range []bool{false, true} {
		t.Run(fmt.Sprint("remote=", remote), func(t *testing.T) {
			dir := newDir(t, remote)
			e1 := newExport(t, dir, "users", "tasks")
			if err := run(t, e1, map[string][]int{"users": {3, 2}}); err != nil {
				t.Fatal(err)
			}
			checkExport(t, dir, e1.RunID, map[string]int64{"users": 5, "tasks": 0})

			// A file from before run ids were in the names.
			ctx := context.Background()
			fsys, _ := filesystem.New(ctx, dir)
			m, _ := ReadManifest(ctx, dir)
			legacy := join(dir, "users", "part-00000.parquet")
			if err := filesystem.Copy(ctx, fsys, join(dir, m.Streams["users"].Files[0]), legacy); err != nil {
				t.Fatal(err)
			}

			e2 := newExport(t, dir, "users", "tasks")
			if err := run(t, e2, map[string][]int{"users": {1}, "tasks": {2, 2}}); err != nil {
				t.Fatal(err)
			}
			checkExport(t, dir, e2.RunID, map[string]int64{"users": 1, "tasks": 4})
		})
	}
}

// TestPublishSteps: Publish reaches the steps of CrashSteps in order
// (on gs://, without the manifest's temporary name).
func TestPublishSteps(t *testing.T) {
	for _, remote := range []bool{false, true} {
		t.Run(fmt.Sprint("remote=", remote), func(t *testing.T) {
			dir := newDir(t, remote)
			if err := run(t, newExport(t, dir, "users"), map[string][]int{"users": {2}}); err != nil {
				t.Fatal(err)
			}
			var got []string
			stepHook = func(s string) { got = append(got, s) }
			defer func() { stepHook = nil }()
			if err := run(t, newExport(t, dir, "users"), map[string][]int{"users": {1, 1}}); err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, s := range CrashSteps {
				if !(remote && s == StepManifestWritten) {
					want = append(want, s)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPublishFailures fails each step of publishing in turn (FailEnv):
// before the switch, Publish fails and the directory is the previous
// export's, exactly; after it, the run is published (Publish fails
// only at "done", as a runner failing after the switch). Abandon then
// tells which, and leaves the directory clean.
func TestPublishFailures(t *testing.T) {
	for _, remote := range []bool{false, true} {
		for i, step := range CrashSteps {
			if remote && step == StepManifestWritten {
				continue
			}
			t.Run(fmt.Sprintf("remote=%v/%s", remote, step), func(t *testing.T) {
				dir := newDir(t, remote)
				e1 := newExport(t, dir, "users", "tasks")
				if err := run(t, e1, map[string][]int{"users": {2, 1}, "tasks": {1}}); err != nil {
					t.Fatal(err)
				}
				before := listing(t, dir)
				e2 := newExport(t, dir, "users", "tasks")
				files, err := writeRun(t, e2, map[string][]int{"users": {1, 1}, "tasks": {2, 2}})
				if err != nil {
					t.Fatal(err)
				}
				t.Setenv(FailEnv, step)
				err = finalize(e2, files)
				switched := i >= indexOf(CrashSteps, StepSwitched)
				switch {
				case !switched || step == StepDone:
					if err == nil || !strings.Contains(err.Error(), FailEnv) {
						t.Fatalf("Publish: %v, want the failpoint's error", err)
					}
				case err != nil:
					t.Fatalf("Publish: %v, want the run published and the failure logged", err)
				}
				if !switched {
					after := listing(t, dir)
					for p := range after {
						if strings.HasPrefix(filepath.ToSlash(p), "_tmp/") {
							delete(after, p) // the run's files, for a retry
						}
					}
					if diff := cmp.Diff(before, after); diff != "" {
						t.Errorf("the previous export changed (-before +after):\n%s", diff)
					}
				}
				a, err := e2.Abandon(context.Background())
				published := a.Published
				if err != nil {
					t.Fatal(err)
				}
				if published != switched {
					t.Errorf("Abandon says published=%v, want %v", published, switched)
				}
				if switched {
					checkExport(t, dir, e2.RunID, map[string]int64{"users": 2, "tasks": 4})
				} else {
					checkExport(t, dir, e1.RunID, map[string]int64{"users": 3, "tasks": 1})
				}
			})
		}
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// crash runs Publish until it reaches step, and stops it there as a
// killed process stops: nothing after the step runs, and the run's lock
// is released.
func crash(t *testing.T, e Export, files []sinks.Part, step string) {
	t.Helper()
	type stop struct{}
	stepHook = func(s string) {
		if s == step {
			panic(stop{})
		}
	}
	defer func() {
		stepHook = nil
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
		release(e)
	}()
	finalize(e, files)
	t.Fatalf("Publish did not reach step %s", step)
}

// TestAbandonAfterCrash: a run stopped while its files were moving is
// undone by Abandon; one stopped after the switch is finished by it.
func TestAbandonAfterCrash(t *testing.T) {
	for _, step := range []string{StepMovedOne, StepManifestWritten, StepSwitched, StepRemovedOne} {
		t.Run(step, func(t *testing.T) {
			dir := newDir(t, false)
			e1 := newExport(t, dir, "users")
			if err := run(t, e1, map[string][]int{"users": {2, 1}}); err != nil {
				t.Fatal(err)
			}
			e2 := newExport(t, dir, "users")
			files, err := writeRun(t, e2, map[string][]int{"users": {1, 1, 1, 1}})
			if err != nil {
				t.Fatal(err)
			}
			crash(t, e2, files, step)
			a, err := e2.Abandon(context.Background())
			published := a.Published
			if err != nil {
				t.Fatal(err)
			}
			if want := step == StepSwitched || step == StepRemovedOne; published != want {
				t.Errorf("Abandon says published=%v, want %v", published, want)
			}
			if published {
				checkExport(t, dir, e2.RunID, map[string]int64{"users": 4})
			} else {
				checkExport(t, dir, e1.RunID, map[string]int64{"users": 3})
			}
		})
	}
}

// TestNextRunCleansUp: what a killed run leaves (files moved into the
// stream folders, its _tmp directory and lock) goes with the next run.
func TestNextRunCleansUp(t *testing.T) {
	dir := newDir(t, false)
	e1 := newExport(t, dir, "users")
	if err := run(t, e1, map[string][]int{"users": {2}}); err != nil {
		t.Fatal(err)
	}
	e2 := newExport(t, dir, "users")
	files, err := writeRun(t, e2, map[string][]int{"users": {1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	crash(t, e2, files, StepMovedOne)
	if _, err := os.Stat(join(dir, "_tmp", e2.RunID+".lock")); err != nil {
		t.Fatalf("the killed run left no lock: %v", err)
	}
	e3 := newExport(t, dir, "users")
	if err := run(t, e3, map[string][]int{"users": {5}}); err != nil {
		t.Fatal(err)
	}
	checkExport(t, dir, e3.RunID, map[string]int64{"users": 5})
}

// TestPublishRetried: Publish run again after it published (a retried
// bundle) succeeds and changes nothing.
func TestPublishRetried(t *testing.T) {
	dir := newDir(t, false)
	e := newExport(t, dir, "users")
	files, err := writeRun(t, e, map[string][]int{"users": {2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if err := finalize(e, files); err != nil {
		t.Fatal(err)
	}
	before := listing(t, dir)
	if err := finalize(e, files); err != nil {
		t.Fatalf("again: %v", err)
	}
	if diff := cmp.Diff(before, listing(t, dir)); diff != "" {
		t.Errorf("the second Publish changed the export (-before +after):\n%s", diff)
	}
	checkExport(t, dir, e.RunID, map[string]int64{"users": 5})
}

// TestSymlinksRefused: a symbolic link inside the export directory where
// a run writes or deletes stops the run with an error naming it, before
// anything is written; the previous export and what the link points to
// are left as they were. The export directory itself may be a link.
func TestSymlinksRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		link func(dir, elsewhere string, e Export) string // makes a link, returns its path
	}{
		{"stream folder", func(dir, elsewhere string, _ Export) string {
			return moveAndLink(t, join(dir, "users"), join(elsewhere, "users"))
		}},
		{"_tmp", func(dir, elsewhere string, _ Export) string {
			os.MkdirAll(join(elsewhere, "tmp"), 0o755)
			return link(t, join(elsewhere, "tmp"), join(dir, "_tmp"))
		}},
		{"the run's _tmp directory", func(dir, elsewhere string, e Export) string {
			os.MkdirAll(join(elsewhere, "run"), 0o755)
			os.MkdirAll(join(dir, "_tmp"), 0o755)
			return link(t, join(elsewhere, "run"), join(dir, "_tmp", e.RunID))
		}},
		{"manifest", func(dir, elsewhere string, _ Export) string {
			return moveAndLink(t, join(dir, ManifestName), join(elsewhere, "manifest.json"))
		}},
		{"part file", func(dir, elsewhere string, _ Export) string {
			m, _ := ReadManifest(context.Background(), dir)
			return moveAndLink(t, join(dir, m.Streams["users"].Files[0]), join(elsewhere, "part.parquet"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir, elsewhere := join(root, "export"), join(root, "elsewhere")
			os.MkdirAll(elsewhere, 0o755)
			e1 := newExport(t, dir, "users", "tasks")
			if err := run(t, e1, map[string][]int{"users": {2, 1}, "tasks": {1}}); err != nil {
				t.Fatal(err)
			}
			e2 := newExport(t, dir, "users", "tasks")
			p := tc.link(dir, elsewhere, e2)
			before, beforeElsewhere := listing(t, dir), listing(t, elsewhere)
			err := run(t, e2, map[string][]int{"users": {1}, "tasks": {1}})
			if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), p) {
				t.Fatalf("the run: %v, want an error naming %s as a symbolic link", err, p)
			}
			if diff := cmp.Diff(before, listing(t, dir)); diff != "" {
				t.Errorf("the export changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(beforeElsewhere, listing(t, elsewhere)); diff != "" {
				t.Errorf("what the link points to changed (-before +after):\n%s", diff)
			}
			release(e2)
		})
	}
	t.Run("the export directory itself", func(t *testing.T) {
		root := t.TempDir()
		os.MkdirAll(join(root, "real"), 0o755)
		dir := link(t, join(root, "real"), join(root, "export"))
		for range 2 {
			e := newExport(t, dir, "users")
			if err := run(t, e, map[string][]int{"users": {2}}); err != nil {
				t.Fatal(err)
			}
			checkExport(t, join(root, "real"), e.RunID, map[string]int64{"users": 2})
		}
	})
	t.Run("a link made while the run writes", func(t *testing.T) {
		root := t.TempDir()
		dir, elsewhere := join(root, "export"), join(root, "elsewhere")
		os.MkdirAll(elsewhere, 0o755)
		e1 := newExport(t, dir, "users", "tasks")
		if err := run(t, e1, map[string][]int{"users": {2}, "tasks": {1}}); err != nil {
			t.Fatal(err)
		}
		e2 := newExport(t, dir, "users", "tasks")
		files, err := writeRun(t, e2, map[string][]int{"users": {1}, "tasks": {3}})
		if err != nil {
			t.Fatal(err)
		}
		p := moveAndLink(t, join(dir, "users"), join(elsewhere, "users"))
		before, beforeElsewhere := listing(t, dir), listing(t, elsewhere)
		err = finalize(e2, files)
		if !errors.Is(err, ErrSymlink) || !strings.Contains(err.Error(), p) {
			t.Fatalf("Publish: %v, want an error naming %s as a symbolic link", err, p)
		}
		after := listing(t, dir)
		for p := range after {
			if strings.HasPrefix(filepath.ToSlash(p), "_tmp/") {
				delete(after, p)
			}
		}
		for p := range before {
			if strings.HasPrefix(filepath.ToSlash(p), "_tmp/") {
				delete(before, p)
			}
		}
		if diff := cmp.Diff(before, after); diff != "" {
			t.Errorf("the export changed (-before +after):\n%s", diff)
		}
		if diff := cmp.Diff(beforeElsewhere, listing(t, elsewhere)); diff != "" {
			t.Errorf("what the link points to changed (-before +after):\n%s", diff)
		}
		release(e2)
	})
}

func link(t *testing.T, target, p string) string {
	t.Helper()
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// moveAndLink moves p to target and leaves a link to it at p.
func moveAndLink(t *testing.T, p, target string) string {
	t.Helper()
	if err := os.Rename(p, target); err != nil {
		t.Fatal(err)
	}
	return link(t, target, p)
}

// TestCleanStale: a run deletes the temporary files of the runs that are
// over, and only those: locally, a run whose lock nobody holds, or
// without a lock and older than StaleAfter; on gs://, a run whose lock
// was last written StaleAfter ago.
func TestCleanStale(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		root := t.TempDir()
		dir, elsewhere := join(root, "export"), join(root, "elsewhere")
		tmp := join(dir, "_tmp")
		put := func(p string) {
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		put(join(tmp, "dead", "users", "a.parquet"))
		put(join(tmp, "dead.lock"))
		put(join(tmp, "live", "users", "a.parquet"))
		put(join(tmp, "live.lock"))
		f, err := os.OpenFile(join(tmp, "live.lock"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := lockShared(f); err != nil {
			t.Fatal(err)
		}
		put(join(tmp, "old", "users", "a.parquet"))
		old := time.Now().Add(-StaleAfter - time.Hour)
		for _, p := range []string{join(tmp, "old", "users", "a.parquet"), join(tmp, "old", "users"), join(tmp, "old")} {
			os.Chtimes(p, old, old)
		}
		put(join(tmp, "young", "users", "a.parquet"))
		put(join(elsewhere, "run", "users", "a.parquet"))
		link(t, join(elsewhere, "run"), join(tmp, "linked"))
		put(join(elsewhere, "linked.lock"))
		link(t, join(elsewhere, "linked.lock"), join(tmp, "linked.lock"))

		e := newExport(t, dir, "users")
		if err := begin(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		defer release(e)
		var got []string
		for p := range listing(t, tmp) {
			got = append(got, filepath.ToSlash(p))
		}
		sort.Strings(got)
		want := []string{e.RunID + ".lock", "linked", "linked.lock", "live.lock", "live/users/a.parquet", "young/users/a.parquet"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("_tmp (-want +got):\n%s", diff)
		}
		if _, err := os.Stat(join(elsewhere, "run", "users", "a.parquet")); err != nil {
			t.Errorf("a file behind a link in _tmp went: %v", err)
		}
	})
	t.Run("remote", func(t *testing.T) {
		defer func(d time.Duration) { staleAfter = d }(staleAfter)
		staleAfter = 200 * time.Millisecond
		dir := newDir(t, true)
		tmp := dir + "/_tmp"
		ctx := context.Background()
		fsys, _ := filesystem.New(ctx, dir)
		put := func(p string) {
			if err := filesystem.Write(ctx, fsys, p, []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		put(tmp + "/dead/users/a.parquet")
		put(tmp + "/dead.lock")
		put(tmp + "/old/users/a.parquet")
		put(tmp + "/live/users/a.parquet")
		time.Sleep(2 * staleAfter)
		put(tmp + "/live.lock") // a heartbeat
		put(tmp + "/young/users/a.parquet")
		e := newExport(t, dir, "users")
		if err := begin(ctx, e); err != nil {
			t.Fatal(err)
		}
		defer release(e)
		var got []string
		for p := range listing(t, tmp) {
			got = append(got, p)
		}
		sort.Strings(got)
		want := []string{e.RunID + ".lock", "live.lock", "live/users/a.parquet", "young/users/a.parquet"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("_tmp (-want +got):\n%s", diff)
		}
	})
}

// TestManifestWarnings: the values written as null because they do not
// fit their column are counted per stream and in all, and the first
// sinks.MaxWarnings of each stream are in the manifest.
func TestManifestWarnings(t *testing.T) {
	ctx := context.Background()
	dir := newDir(t, false)
	e := newExport(t, dir, "tasks", "users")
	fn := writeFn(t, e)
	if err := fn.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	var files []sinks.Part
	gid := 1000
	for _, n := range []int{70, 80} { // two files, 150 bad values
		fn.StartBundle(ctx, nil)
		for range n {
			gid++
			rec := sinks.Record{Stream: "tasks", Key: fmt.Sprint(gid), Data: fmt.Appendf(nil, `{"gid":"%d","due_on":"2024-13-45"}`, gid)}
			if err := fn.ProcessElement(ctx, rec, nil); err != nil {
				t.Fatal(err)
			}
		}
		if err := fn.FinishBundle(ctx, func(f sinks.Part) { files = append(files, f) }); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		if len(f.Warnings) != int(f.WarningCount) || f.WarningCount == 0 {
			t.Errorf("a file of %d rows keeps %d warnings of %d", f.Rows, len(f.Warnings), f.WarningCount)
		}
	}
	if err := finalize(e, files); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	tasks := m.Streams["tasks"]
	if tasks.WarningCount != 150 || len(tasks.Warnings) != sinks.MaxWarnings || m.WarningCount != 150 {
		t.Errorf("warnings: tasks %d kept of %d, in all %d; want %d of 150, 150", len(tasks.Warnings), tasks.WarningCount, m.WarningCount, sinks.MaxWarnings)
	}
	if w := tasks.Warnings[0]; !strings.HasPrefix(w, "record 10") || !strings.Contains(w, `field due_on: "2024-13-45"`) {
		t.Errorf("first warning %q, want the record, the field and its value", w)
	}
	if users := m.Streams["users"]; users.WarningCount != 0 || users.Warnings != nil {
		t.Errorf("users has warnings: %d %q", users.WarningCount, users.Warnings)
	}
	if tasks.Records != 150 {
		t.Errorf("tasks: %d records, want 150", tasks.Records)
	}
}

// TestFinalizeAfterAbandon: once the command has abandoned a run (its
// pipeline stopped), a Publish of the run still to come in the process
// does not publish it.
func TestFinalizeAfterAbandon(t *testing.T) {
	dir := newDir(t, false)
	e1 := newExport(t, dir, "users")
	if err := run(t, e1, map[string][]int{"users": {2}}); err != nil {
		t.Fatal(err)
	}
	e2 := newExport(t, dir, "users")
	files, err := writeRun(t, e2, map[string][]int{"users": {1}})
	if err != nil {
		t.Fatal(err)
	}
	if a, err := e2.Abandon(context.Background()); a.Published || err != nil {
		t.Fatalf("Abandon = %+v, %v; want not published, no error", a, err)
	}
	if err := finalize(e2, files); err == nil || !strings.Contains(err.Error(), "abandoned") {
		t.Errorf("Publish after Abandon: %v, want an error", err)
	}
	checkExport(t, dir, e1.RunID, map[string]int64{"users": 2})
}
