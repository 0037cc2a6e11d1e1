package asanatest

import (
	"io"
	"net/http"
	"runtime"
	"testing"
)

func BenchmarkGenerate(b *testing.B) {
	for _, size := range Sizes() {
		b.Run(size, func(b *testing.B) {
			var s *Sim
			for b.Loop() {
				s = New(Options{Seed: 1, Size: size})
			}
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			b.ReportMetric(float64(m.HeapAlloc)/(1<<20), "heapMB")
			runtime.KeepAlive(s)
		})
	}
}

// BenchmarkServe measures handler throughput through the in-memory
// transport with parallel clients (b.RunParallel uses GOMAXPROCS goroutines).
func BenchmarkServe(b *testing.B) {
	s := New(Options{Seed: 1, Size: "small", MaxInFlight: -1})
	d := s.d
	p := d.projects[0]
	paths := map[string]string{
		"task-full":        "/tasks/" + p.tasks[0].gid,
		"tasks-compact100": "/projects/" + p.gid + "/tasks?limit=100",
		"tasks-airbyte100": "/tasks?project=" + p.gid + "&limit=100&opt_fields=actual_time_minutes,approval_status,assignee.gid,completed,completed_at,completed_by.gid,created_at,custom_fields,dependencies.gid,dependents.gid,due_at,due_on,external.gid,followers.gid,gid,hearted,hearts.user.gid,html_notes,is_rendered_as_separator,liked,likes.user.gid,memberships.(project|section).gid,modified_at,name,notes,num_hearts,num_likes,num_subtasks,parent.gid,permalink_url,projects.gid,resource_subtype,resource_type,start_on,tags.gid,workspace.gid",
		"stories100":       "/tasks/" + p.tasks[0].gid + "/stories?limit=100",
		"users-me":         "/users/me",
	}
	for name, path := range paths {
		b.Run(name, func(b *testing.B) {
			hc := &http.Client{Transport: s.Transport()}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", "http://asana.test/api/1.0"+path, nil)
					req.Header.Set("Authorization", "Bearer "+s.PAT())
					resp, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || n == 0 {
						b.Fatalf("%s: %d", path, resp.StatusCode)
					}
				}
			})
		})
	}
}

// BenchmarkServeSocket is BenchmarkServe over loopback HTTP.
func BenchmarkServeSocket(b *testing.B) {
	srv := NewServer(Options{Seed: 1, Size: "small", MaxInFlight: -1, DisableRecording: true})
	defer srv.Close()
	p := srv.d.projects[0]
	paths := map[string]string{
		"users-me":   "/users/me",
		"tasks100":   "/projects/" + p.gid + "/tasks?limit=100&opt_fields=name,assignee.name,modified_at,completed",
		"tasks100cf": "/projects/" + p.gid + "/tasks?limit=100&opt_fields=name,assignee.name,modified_at,custom_fields",
	}
	hc := srv.Client()
	hc.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	for name, path := range paths {
		b.Run(name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", srv.URL+"/api/1.0"+path, nil)
					req.Header.Set("Authorization", "Bearer "+srv.PAT())
					resp, err := hc.Do(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		})
	}
}
