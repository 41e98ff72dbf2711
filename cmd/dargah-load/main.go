// Command dargah-load posts messages concurrently to a running Dargah's
// JSON API and reports throughput and latency from accept to decision
// stored (the API answers once the router's decision, and any case it
// opened, is committed).
//
//	dargah-load -url http://127.0.0.1:8137 -n 20000 -c 64
//	dargah-load -rate 1000 -duration 20s      # fixed arrival rate, for p99 at 1,000/s
//	dargah-load -pid $(pgrep dargah)          # also report the server's peak RSS
//	dargah-load -cpu dargah,postgres,redis-server   # and the CPU each used per message
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	var (
		base     = flag.String("url", "http://127.0.0.1:8137", "Dargah base URL")
		n        = flag.Int("n", 10000, "messages to send (closed loop); ignored with -rate")
		conc     = flag.Int("c", 64, "concurrent senders")
		rate     = flag.Int("rate", 0, "open loop: messages per second (0 = as fast as possible)")
		duration = flag.Duration("duration", 20*time.Second, "open loop: how long to send")
		pid      = flag.Int("pid", 0, "server pid, to report its peak resident memory")
		mix      = flag.Float64("faq", 0.3, "share of messages that are FAQ questions (resolved on the spot)")
		timeline = flag.Bool("timeline", false, "also print p50/p99 for every second of the run, to find where a tail comes from")
		cpu      = flag.String("cpu", "", "comma-separated process names (as in /proc/<pid>/comm) whose CPU to report per message, e.g. dargah,postgres,redis-server")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var names []string
	if *cpu != "" {
		names = strings.Split(*cpu, ",")
	}
	before := takeCPU(names)
	res, err := run(ctx, *base, *n, *conc, *rate, *duration, *mix)
	after := takeCPU(names)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dargah-load:", err)
		os.Exit(1)
	}
	if *timeline {
		res.printTimeline(os.Stdout)
	}
	res.print(os.Stdout)
	if *cpu != "" {
		printCPU(os.Stdout, names, before, after, res.ok)
	}
	if *pid > 0 {
		if hwm, rss, err := memory(*pid); err == nil {
			fmt.Printf("server memory: peak RSS %s, current RSS %s\n", hwm, rss)
		}
	}
	if res.failed > 0 {
		os.Exit(2)
	}
}

var caseTexts = []string{
	"خیابان احمدآباد چاله بزرگی دارد و آسفالت خراب شده است",
	"درختان پارک ملت نیاز به آبیاری دارند و فضای سبز خشک شده",
	"جدول کنار خیابان شکسته و آب جمع شده",
	"پیاده رو بلوار وکیل آباد خراب است",
	"چراغ های خیابان امام رضا خاموش است",
	"زباله ها از دیروز جمع آوری نشده",
}

var faqTexts = []string{
	"ساعت کاری ۱۳۷ چیست",
	"اشیای گمشده در حرم را کجا پیدا کنم",
}

type result struct {
	sent, ok, failed int64
	outcomes         map[string]int64
	lat              []time.Duration
	at               []time.Duration // when each of lat was sent, from the start
	elapsed          time.Duration
}

func run(ctx context.Context, base string, n, conc, rate int, duration time.Duration, faq float64) (*result, error) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2, MaxConnsPerHost: conc * 2}, Timeout: 30 * time.Second}
	if resp, err := client.Get(base + "/healthz"); err != nil {
		return nil, fmt.Errorf("dargah is not reachable at %s: %w", base, err)
	} else {
		resp.Body.Close()
	}
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)
	jobs := make(chan int, conc*4)
	res := &result{outcomes: map[string]int64{}}
	t0 := time.Now()
	var mu sync.Mutex
	var seq atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				text := caseTexts[i%len(caseTexts)]
				if float64(i%100) < faq*100 {
					text = faqTexts[i%len(faqTexts)]
				}
				body, _ := json.Marshal(map[string]any{
					"text":    fmt.Sprintf("%s (%d)", text, i),
					"contact": map[string]string{"phone": fmt.Sprintf("0912%07d", i%10000000)},
				})
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/messages", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("load-%s-%d", runID, i))
				start := time.Now()
				resp, err := client.Do(req)
				var out struct {
					Outcome string `json:"outcome"`
				}
				status := 0
				if err == nil {
					status = resp.StatusCode
					_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out)
					resp.Body.Close()
				}
				d := time.Since(start)
				mu.Lock()
				res.sent++
				if err == nil && status == http.StatusOK {
					res.ok++
					res.lat = append(res.lat, d)
					res.at = append(res.at, start.Sub(t0))
					res.outcomes[out.Outcome]++
				} else {
					res.failed++
					if err == nil {
						res.outcomes[fmt.Sprintf("http_%d", status)]++
					} else {
						res.outcomes["error"]++
					}
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	if rate > 0 {
		// Open loop: every 2 ms, release as many messages as the rate says
		// should have left by now, so the arrival rate holds even when a
		// ticker per message could not keep up.
		tick := time.NewTicker(2 * time.Millisecond)
		deadline := time.After(duration)
		released := 0
	loop:
		for {
			select {
			case <-tick.C:
				due := int(time.Since(start).Seconds() * float64(rate))
				for ; released < due; released++ {
					select {
					case jobs <- int(seq.Add(1)):
					default: // every sender busy: an arrival the server never saw
						mu.Lock()
						res.outcomes["not_sent_saturated"]++
						mu.Unlock()
					}
				}
			case <-deadline:
				break loop
			case <-ctx.Done():
				break loop
			}
		}
		tick.Stop()
	} else {
		for i := 0; i < n && ctx.Err() == nil; i++ {
			jobs <- i
		}
	}
	close(jobs)
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, nil
}

// printTimeline prints, per second of the run, how many were answered and
// their p50 and p99. Call it before print, which sorts the latencies.
func (r *result) printTimeline(w io.Writer) {
	secs := map[int][]time.Duration{}
	last := 0
	for i, d := range r.lat {
		s := int(r.at[i] / time.Second)
		secs[s] = append(secs[s], d)
		last = max(last, s)
	}
	for s := 0; s <= last; s++ {
		l := secs[s]
		slices.Sort(l)
		if len(l) == 0 {
			fmt.Fprintf(w, "%4ds  n=0\n", s)
			continue
		}
		fmt.Fprintf(w, "%4ds  n=%-5d p50 %-9s p99 %s\n", s, len(l), l[len(l)/2].Round(100*time.Microsecond),
			l[min(len(l)-1, len(l)*99/100)].Round(100*time.Microsecond))
	}
}

func (r *result) print(w io.Writer) {
	r.lat = slices.Clone(r.lat)
	slices.Sort(r.lat)
	pct := func(p float64) time.Duration {
		if len(r.lat) == 0 {
			return 0
		}
		return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))]
	}
	fmt.Fprintf(w, "sent %d, ok %d, failed %d in %s\n", r.sent, r.ok, r.failed, r.elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "throughput: %.0f messages/s (decided)\n", float64(r.ok)/r.elapsed.Seconds())
	fmt.Fprintf(w, "latency accept→decision stored: p50 %s  p90 %s  p99 %s  max %s\n",
		pct(.50).Round(10*time.Microsecond), pct(.90).Round(10*time.Microsecond), pct(.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond))
	var parts []string
	for k, v := range r.outcomes {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(parts)
	fmt.Fprintf(w, "outcomes: %s\n", strings.Join(parts, " "))
}

// memory reads peak and current resident set size from /proc (Linux).
func memory(pid int) (hwm, rss string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		switch f[0] {
		case "VmHWM:":
			hwm = f[1] + " " + f[2]
		case "VmRSS:":
			rss = f[1] + " " + f[2]
		}
	}
	return hwm, rss, nil
}
