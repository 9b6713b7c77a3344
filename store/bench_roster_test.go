package store_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"whitecross"
	"whitecross/roster"
	"whitecross/store"
	"whitecross/store/storetest"
)

// BenchmarkRosterImport imports a OneRoster set of n families (a student
// and a parent each; a teacher per 25 students; 40 schools) into a new
// district, then the same set again (nothing changes), on both dialects,
// at 1,000, 10,000 and 100,000 people (storetest.BroadcastSizes; the
// largest needs WHITECROSS_BENCH_LARGE=1). It reports the seconds of the
// first and second import and the peak Go heap while importing (sampled
// every 10 ms): the files are read row by row, so the heap must not grow
// with the file.
func BenchmarkRosterImport(b *testing.B) {
	for _, d := range storetest.Dialects {
		for _, n := range storetest.BroadcastSizes {
			b.Run(fmt.Sprintf("%s/%d", d, n), func(b *testing.B) {
				storetest.SkipLargeBench(b, n)
				dir := writeBenchRoster(b, n/2)
				for b.Loop() {
					b.StopTimer()
					db := storetest.Open(b, d)
					st := store.New(db, storetest.InsecureHasher(), nil)
					dist := storetest.SeedDistrict(b, st)
					b.StartTimer()
					stop := sampleHeap()
					first := importBenchRoster(b, st, dist, dir)
					second := importBenchRoster(b, st, dist, dir)
					b.ReportMetric(first.Seconds(), "first-s")
					b.ReportMetric(second.Seconds(), "again-s")
					b.ReportMetric(float64(stop())/(1<<20), "peak-heap-MiB")
				}
			})
		}
	}
}

// importBenchRoster runs one import of dir and returns how long it took.
func importBenchRoster(b *testing.B, st *store.Store, dist *storetest.District, dir string) time.Duration {
	b.Helper()
	start := time.Now()
	src, err := roster.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	set, err := roster.Read(src)
	if err != nil {
		b.Fatal(err)
	}
	ctx := dist.As(dist.Admin)
	imp, err := st.StartRosterImport(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	if imp, err = st.RunRosterImport(ctx, imp.ID, set); err != nil || imp.Status != whitecross.RosterDone || imp.ErrorCount > 0 {
		b.Fatalf("import: %v %+v", err, imp)
	}
	return time.Since(start)
}

// sampleHeap samples the Go heap until the returned stop, which gives the
// largest HeapAlloc seen.
func sampleHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		return peak.Load()
	}
}

// writeBenchRoster writes orgs.csv (a district, 40 schools) and users.csv
// (families students with one parent each, a teacher per 25 students).
func writeBenchRoster(b *testing.B, families int) string {
	b.Helper()
	dir := b.TempDir()
	orgs := "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\nd,,,Bench District,district,,\n"
	for s := range 40 {
		orgs += fmt.Sprintf("s%02d,,,School %02d,school,,d\n", s, s)
	}
	if err := os.WriteFile(filepath.Join(dir, "orgs.csv"), []byte(orgs), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "users.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprint(w, "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password\n")
	for i := range families {
		school := fmt.Sprintf("s%02d", i%40)
		fmt.Fprintf(w, "stu%07d,,,true,%s,student,,,Student,N%07d,,,,,,par%07d,%02d,\n", i, school, i, i, i%12+1)
		fmt.Fprintf(w, "par%07d,,,true,%s,parent,,,Parent,N%07d,,,parent%07d@bench.example,+1555%07d,,stu%07d,,\n", i, school, i, i, i, i)
		if i%25 == 0 {
			fmt.Fprintf(w, "tea%07d,,,true,%s,teacher,,,Teacher,N%07d,,,teacher%07d@bench.example,,,,,\n", i, school, i, i)
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return dir
}
