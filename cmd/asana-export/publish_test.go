package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"

	"github.com/asana-beam/asana-beam/sinks/parquet"
)

// How the export publishes into a directory (issue 11, items 13-15), on
// the tiny demo account: symbolic links inside the directory are
// refused, a run killed or failing at any step of publishing leaves the
// previous export or its own, complete, and what failed runs leave under
// _tmp/ goes with the next run.

var runLine = regexp.MustCompile(`, run (\S+)\n`)

// demoRun is one export of the tiny demo account's tasks and users.
type demoRun struct {
	out  string // stdout and stderr
	code int
	run  string // the run id it announced
}

func demoExport(t *testing.T, dir string, env ...string) demoRun {
	t.Helper()
	r := runExport(t, env, 2*time.Minute, "--demo", "--demo-size", "tiny", "--streams", "tasks,users", "--output", dir, "--quiet")
	d := demoRun{out: string(r.stdout) + string(r.stderr), code: r.code}
	if m := runLine.FindStringSubmatch(string(r.stderr)); m != nil {
		d.run = m[1]
	}
	return d
}

// firstExport makes a finished export in a new directory and returns it
// with its manifest's bytes.
func firstExport(t *testing.T) (string, []byte) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	if r := demoExport(t, dir); r.code != 0 {
		t.Fatalf("the first export: exit %d\n%s", r.code, r.out)
	}
	m, err := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "_tmp")); err == nil {
		t.Errorf("a finished export left %s", filepath.Join(dir, "_tmp"))
	}
	return dir, m
}

// copyTree copies a directory (files, folders and links) to a new one.
func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "export")
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case fi.IsDir():
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// tree lists the files under dir (not following links) with a digest of
// their content; links as "-> target".
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
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
			out[rel] = fmt.Sprintf("%d bytes, %x", len(b), b[len(b)/2:min(len(b), len(b)/2+16)])
		}
		return nil
	})
	return out
}

// readExport reads an export as a reader would: the manifest, then the
// files it names. Each must exist and hold the rows the manifest counts.
// It returns the manifest and its records per stream.
func readExport(t *testing.T, dir string) (*parquet.Manifest, map[string]int64) {
	t.Helper()
	m, err := parquet.ReadManifest(t.Context(), dir)
	if err != nil {
		t.Fatalf("the manifest: %v", err)
	}
	records := map[string]int64{}
	for stream, ms := range m.Streams {
		records[stream] = ms.Records
		var rows int64
		for _, name := range ms.Files {
			rows += parquetRows(t, filepath.Join(dir, name))
		}
		if rows != ms.Records {
			t.Errorf("%s: the files the manifest names hold %d rows, it says %d", stream, rows, ms.Records)
		}
	}
	return m, records
}

func parquetRows(t *testing.T, p string) int64 {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Errorf("a file the manifest names: %v", err)
		return 0
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	pf, err := pq.OpenFile(f, fi.Size())
	if err != nil {
		t.Errorf("%s: %v", p, err)
		return 0
	}
	var n int64
	r := pq.NewReader(pf)
	defer r.Close()
	rows := make([]pq.Row, 64)
	for {
		k, err := r.ReadRows(rows)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Errorf("reading %s: %v", p, err)
			break
		}
	}
	if n != pf.NumRows() {
		t.Errorf("%s: read %d rows of %d", p, n, pf.NumRows())
	}
	return n
}

// published lists the part files in the stream folders of dir.
func published(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, p := range parts(t, dir) {
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
	}
	sort.Strings(out)
	return out
}

// named lists the files the manifest names.
func named(m *parquet.Manifest) []string {
	var out []string
	for _, ms := range m.Streams {
		out = append(out, ms.Files...)
	}
	sort.Strings(out)
	return out
}

// TestHardening13Symlinks: a symbolic link inside the export directory
// where the export writes or deletes (a stream folder, _tmp, the
// manifest, a part file) stops the run with an error naming it; the
// previous export and what the link points to are left as they were.
// The export directory itself may be a link.
func TestHardening13Symlinks(t *testing.T) {
	base, _ := firstExport(t)
	m, _ := readExport(t, base)
	for _, tc := range []struct {
		name string
		link func(dir, elsewhere string) string // makes the link, returns its path
	}{
		{"a stream folder", func(dir, elsewhere string) string {
			return moveAndLink(t, filepath.Join(dir, "users"), filepath.Join(elsewhere, "users"))
		}},
		{"_tmp", func(dir, elsewhere string) string {
			os.Mkdir(filepath.Join(elsewhere, "tmp"), 0o755)
			return symlink(t, filepath.Join(elsewhere, "tmp"), filepath.Join(dir, "_tmp"))
		}},
		{"the manifest", func(dir, elsewhere string) string {
			return moveAndLink(t, filepath.Join(dir, parquet.ManifestName), filepath.Join(elsewhere, "manifest.json"))
		}},
		{"a part file", func(dir, elsewhere string) string {
			return moveAndLink(t, filepath.Join(dir, m.Streams["tasks"].Files[0]), filepath.Join(elsewhere, "part.parquet"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyTree(t, base)
			elsewhere := t.TempDir()
			p := tc.link(dir, elsewhere)
			before, beforeElsewhere := tree(t, dir), tree(t, elsewhere)
			r := demoExport(t, dir)
			if r.code == 0 {
				t.Fatalf("exit 0 with %s a symbolic link:\n%s", p, r.out)
			}
			if !strings.Contains(r.out, "refusing to write or delete through "+p+": it is a symbolic link") {
				t.Errorf("the output does not name %s as a symbolic link:\n%s", p, r.out)
			}
			// Refused before the run (exit 2), or by the run, which says so.
			if r.code != 2 && !strings.Contains(r.out, "nothing of this run was published") {
				t.Errorf("exit %d, and the output does not say nothing was published:\n%s", r.code, r.out)
			}
			if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
				t.Errorf("the export directory changed (-before +after):\n%s", diff)
			}
			if diff := cmp.Diff(beforeElsewhere, tree(t, elsewhere)); diff != "" {
				t.Errorf("what %s points to changed (-before +after):\n%s", p, diff)
			}
		})
	}
	t.Run("the export directory itself", func(t *testing.T) {
		real := copyTree(t, base)
		dir := symlink(t, real, filepath.Join(t.TempDir(), "link"))
		r := demoExport(t, dir)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.out)
		}
		m, _ := readExport(t, real)
		if m.RunID != r.run {
			t.Errorf("the manifest is of run %s, want %s", m.RunID, r.run)
		}
		if diff := cmp.Diff(named(m), published(t, real)); diff != "" {
			t.Errorf("part files (-named +there):\n%s", diff)
		}
	})
}

func symlink(t *testing.T, target, p string) string {
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
	return symlink(t, target, p)
}

// TestHardening14CrashSafePublish kills a second export at each step of
// publishing (parquet.CrashEnv: os.Exit at the step, as a kill -9) and
// reads the directory after it as a reader would: the manifest parses,
// names files that exist and hold the rows it counts, and is the first
// export's, byte for byte, up to the switch, the second's from it on.
// A failure (not a kill) before the switch publishes nothing and says
// so; one after it only fails to delete the replaced files, and the run
// is published; a stream folder that cannot be written fails the run and
// leaves the previous export whole.
func TestHardening14CrashSafePublish(t *testing.T) {
	base, before := firstExport(t)
	m1, records := readExport(t, base)
	switchAt := -1
	for i, s := range parquet.CrashSteps {
		if s == parquet.StepSwitched {
			switchAt = i
		}
	}
	for i, step := range parquet.CrashSteps {
		t.Run("killed at "+step, func(t *testing.T) {
			dir := copyTree(t, base)
			r := demoExport(t, dir, parquet.CrashEnv+"="+step)
			if r.code != parquet.CrashExitCode || !strings.Contains(r.out, parquet.CrashEnv+"="+step+": exiting") {
				t.Fatalf("exit %d, want %d from the failpoint at %s\n%s", r.code, parquet.CrashExitCode, step, r.out)
			}
			m, got := readExport(t, dir)
			if diff := cmp.Diff(records, got); diff != "" {
				t.Errorf("records per stream (-first export +manifest):\n%s", diff)
			}
			if i < switchAt {
				after, _ := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
				if !bytes.Equal(before, after) {
					t.Errorf("killed before the switch, but the manifest is not the first export's (run %s)", m.RunID)
				}
			} else if m.RunID != r.run || r.run == "" {
				t.Errorf("killed after the switch, but the manifest is of run %s, not the second export's %q", m.RunID, r.run)
			}
			t.Logf("killed at %-16s manifest of run %s (%s), %d part files in the stream folders", step, m.RunID,
				map[bool]string{true: "the first", false: "the second"}[m.RunID == m1.RunID], len(published(t, dir)))
		})
	}
	for _, step := range []string{parquet.StepMovedOne, parquet.StepRemovedOne} {
		t.Run("failing at "+step, func(t *testing.T) {
			dir := copyTree(t, base)
			r := demoExport(t, dir, parquet.FailEnv+"="+step)
			m, got := readExport(t, dir)
			if diff := cmp.Diff(records, got); diff != "" {
				t.Errorf("records per stream (-first export +manifest):\n%s", diff)
			}
			if step == parquet.StepMovedOne {
				if r.code != 1 || !strings.Contains(r.out, "nothing of this run was published") {
					t.Errorf("exit %d, want 1 and the output saying nothing was published:\n%s", r.code, r.out)
				}
				after, _ := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
				if !bytes.Equal(before, after) {
					t.Errorf("the manifest is not the first export's (run %s)", m.RunID)
				}
				if diff := cmp.Diff(named(m1), published(t, dir)); diff != "" {
					t.Errorf("the stream folders hold other files than the first export's (-first +there):\n%s", diff)
				}
				return
			}
			if r.code != 0 || m.RunID != r.run {
				t.Errorf("exit %d, manifest of run %s: want 0 and the run %s published\n%s", r.code, m.RunID, r.run, r.out)
			}
		})
	}
	t.Run("a stream folder that cannot be written", func(t *testing.T) {
		dir := copyTree(t, base)
		if err := os.RemoveAll(filepath.Join(dir, "users")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "users"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		tasks := tree(t, filepath.Join(dir, "tasks"))
		r := demoExport(t, dir)
		// Refused before the run (exit 2), or by the run, which says so.
		if !strings.Contains(r.out, filepath.Join(dir, "users")+" is not a directory") ||
			r.code != 2 && (r.code != 1 || !strings.Contains(r.out, "nothing of this run was published")) {
			t.Errorf("exit %d, want 2, or 1 and the output saying nothing was published; and %s named:\n%s", r.code, filepath.Join(dir, "users"), r.out)
		}
		after, err := os.ReadFile(filepath.Join(dir, parquet.ManifestName))
		if err != nil || !bytes.Equal(before, after) {
			t.Errorf("the previous manifest changed or went away: %v", err)
		}
		if diff := cmp.Diff(tasks, tree(t, filepath.Join(dir, "tasks"))); diff != "" {
			t.Errorf("the previous tasks changed (-before +after):\n%s", diff)
		}
	})
}

// TestHardening15TmpCleanup: a run deletes what runs that are over left
// under _tmp/ (one killed while publishing, one that failed, a run
// directory without a lock older than parquet.StaleAfter), with the
// files a killed run had moved into the stream folders; it keeps the
// runs in progress (their lock is held) and recent unlocked directories.
func TestHardening15TmpCleanup(t *testing.T) {
	dir, _ := firstExport(t)
	tmp := filepath.Join(dir, "_tmp")
	killed := demoExport(t, dir, parquet.CrashEnv+"="+parquet.StepMovedOne)
	if killed.code != parquet.CrashExitCode {
		t.Fatalf("the killed run: exit %d\n%s", killed.code, killed.out)
	}
	left := []string{killed.run + ".lock", killed.run}
	for _, p := range left {
		if _, err := os.Lstat(filepath.Join(tmp, p)); err != nil {
			t.Fatalf("the killed run left no %s: %v", p, err)
		}
	}
	if r := demoExport(t, dir, parquet.FailEnv+"="+parquet.StepMoved); r.code != 1 {
		t.Fatalf("the failed run: exit %d\n%s", r.code, r.out)
	}
	for _, p := range left {
		if _, err := os.Lstat(filepath.Join(tmp, p)); err == nil {
			t.Errorf("the run after the killed one left its %s", filepath.Join(tmp, p))
		}
	}
	put := func(p string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put(filepath.Join(tmp, "in-progress", "tasks", "a.parquet"))
	put(filepath.Join(tmp, "in-progress.lock"))
	lock, err := os.Open(filepath.Join(tmp, "in-progress.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-parquet.StaleAfter - time.Hour)
	put(filepath.Join(tmp, "old", "tasks", "a.parquet"))
	for _, p := range []string{"old/tasks/a.parquet", "old/tasks", "old"} {
		os.Chtimes(filepath.Join(tmp, p), old, old)
	}
	put(filepath.Join(tmp, "recent", "tasks", "a.parquet"))

	r := demoExport(t, dir)
	if r.code != 0 {
		t.Fatalf("the next run: exit %d\n%s", r.code, r.out)
	}
	var got []string
	for p := range tree(t, tmp) {
		got = append(got, filepath.ToSlash(p))
	}
	sort.Strings(got)
	want := []string{"in-progress.lock", "in-progress/tasks/a.parquet", "recent/tasks/a.parquet"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s after the next run (-want +got):\n%s", tmp, diff)
	}
	m, _ := readExport(t, dir)
	if diff := cmp.Diff(named(m), published(t, dir)); diff != "" {
		t.Errorf("part files after the next run (-named by its manifest +there):\n%s", diff)
	}

	// Once its lock is released, the run is over.
	lock.Close()
	if r := demoExport(t, dir); r.code != 0 {
		t.Fatalf("the last run: exit %d\n%s", r.code, r.out)
	}
	got = nil
	for p := range tree(t, tmp) {
		got = append(got, filepath.ToSlash(p))
	}
	if diff := cmp.Diff([]string{"recent/tasks/a.parquet"}, got); diff != "" {
		t.Errorf("%s after the last run (-want +got):\n%s", tmp, diff)
	}
}
