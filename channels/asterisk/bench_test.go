package asterisk_test

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/dargah137/dargah/channels/asterisk/aritest"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCalls500 puts 500 concurrent calls through IVR (language and
// menu digits) into the queue, then 50 agents answer them one by one and
// each call is hung up after it is bridged. CPU and memory are the whole
// test process: Dargah (SQLite runtime) and the ARI double together.
func BenchmarkCalls500(b *testing.B) {
	const calls, agents = 500, 50
	srv := aritest.New(b, aritest.Config{Timeout: 2 * time.Minute})
	p := startPhoneOn(b, srv, "", nil)
	for i := range agents {
		id := fmt.Sprintf("b%d", i)
		if code := p.do("POST", "/api/v1/agents/"+id+"/login", map[string]any{
			"endpoint": fmt.Sprintf("PJSIP/%d", 2000+i), "skills": map[string]int{"fa": 3, "asphalt": 2}}, nil); code != 200 {
			b.Fatalf("login %s: %d", id, code)
		}
	}
	var cpu time.Duration
	var alloc, heapPerCall uint64
	b.ResetTimer()
	for i := range b.N {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		c0 := cpuTime()
		byID := map[string]*aritest.Call{}
		for i := range calls {
			c := srv.NewCall(fmt.Sprintf("0915%07d", i))
			c.SendDTMF("11")
			byID[c.ID()] = c
		}
		// Every caller joins the holding bridge once; agents have not
		// answered yet, so no call bridge adds channels before this.
		srv.WaitRequest("bridges.addChannel", i*2*calls+calls)
		runtime.ReadMemStats(&m1)
		if m1.HeapInuse > m0.HeapInuse {
			heapPerCall += (m1.HeapInuse - m0.HeapInuse) / calls
		}
		for range calls {
			leg := srv.WaitOriginated("")
			caller := byID[leg.State().Args[1]]
			p.connect(caller, leg)
			caller.Hangup()
		}
		srv.Wait("all agent legs gone", func() bool { return len(srv.Channels()) == 0 })
		cpu += cpuTime() - c0
		runtime.ReadMemStats(&m1)
		alloc += m1.TotalAlloc - m0.TotalAlloc
	}
	n := float64(b.N * calls)
	b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/call")
	b.ReportMetric(float64(alloc)/n, "alloc-B/call")
	b.ReportMetric(float64(heapPerCall)/float64(b.N), "heap-B/queued-call")
}
