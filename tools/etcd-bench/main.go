// etcd-bench: the redeem-once workload against etcd, for the comparison in
// docs/performance.md ("The etcd comparison"); run by tools/compare-etcd.sh.
//
// One redemption is one etcd transaction on a key nobody wrote before:
//
//	Txn(If(CreateRevision(key) == 0), Then(Put(key, value)))
//
// which is what "a voucher slot can be spent once" costs in etcd: a
// linearizable compare-and-create that goes through raft and is fsynced in
// the WAL of a majority before it is acknowledged.  A transaction whose
// compare fails (the key existed) counts as the error NOT_CREATED.
//
// Why this generator gives etcd its best honest number (docs/performance.md):
// it is Go with the official clientv3 (Debian's golang-etcd-server-dev, etcd
// 3.4, the version of etcd-server), the same client and the same shape as
// etcd's own tools/benchmark (which Debian does not ship): C goroutines share
// a small pool of K gRPC connections (client i uses connection i mod K;
// default K = one per endpoint: on 2 cores fewer connections measured
// faster, see docs/performance.md), every connection is dialled once before
// the clock starts, and the
// requests of the goroutines on one connection are multiplexed as
// concurrent HTTP/2 streams, so no request waits for a dial or for another
// request's reply.
//
// Closed loop (default): each goroutine takes the next key from a shared
// counter, sends the Txn, waits for the reply, takes the next.  Open loop
// (--rate R): request k is due at t0 + k/R and its latency is measured from
// the due time, so a backlog shows as latency (as voucher-bench does).
//
// Output: text, or with --json one object on one line:
//
//	{"parameters": {...}, "orders": {"submitted", "certified", "errors"},
//	 "elapsed_s", "throughput_per_s", "latency_ms": {"p50", "p90", "p99",
//	 "max", "mean", "count"}, "errors": {CODE: n}, "verified_keys": n,
//	 "verified": bool, "client_cpu_us_per_order": us,
//	 "cpu_us_per_order": {"nodes": {"m1": us, ...}, "mean", "sum", "pids"},
//	 "machine_disk": {"write_bytes_per_order", "write_mb_per_s"}}
//
// CPU per transaction: with --pids, the CPU time (utime + stime, all
// threads, /proc/PID/stat) each member spent during the timed run divided
// by the successful transactions, and this process's own (getrusage), as
// voucher-bench reports its nodes and itself; "sum" is the members' total,
// so sum + client is what one transaction cost the machine.
//
// "certified" is the number of transactions that succeeded (the names follow
// voucher-bench's JSON so one script reads both).  "verified" is true when a
// count of the run's key prefix on every endpoint, each asked on its own,
// equals "certified" ("verified_keys" is the smallest count; a lagging
// member is asked again for up to 10 s).  Exit status: 0 every transaction succeeded and was
// verified, 1 otherwise (figures printed anyway), 2 usage error.
//
// Build offline against Debian's Go sources (no module proxy):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOPROXY=off \
//	  go build -o etcd-bench tools/etcd-bench/main.go
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Limits on the command line, each with its reason.
const (
	maxClients  = 4096      // goroutines; beyond this the box measures the scheduler
	maxConns    = 256       // gRPC connections in the pool
	maxCount    = 5_000_000 // latencies kept in memory: 8 bytes each
	maxValue    = 1 << 20   // etcd's default request limit is 1.5 MiB
	maxDuration = 3600      // seconds
	maxPids     = 64        // member processes whose CPU time is read
	// USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on every
	// Linux architecture Debian ships (the kernel's ABI, whatever CONFIG_HZ).
	userHZ = 100
)

type options struct {
	endpoints  []string
	clients    int
	conns      int
	count      int
	durationS  float64
	rate       float64
	valueBytes int
	prefix     string
	timeoutMS  int
	jsonOut    bool
	pids       []int
}

type result struct {
	mu        sync.Mutex
	latencies []float64 // ms, of the successful transactions
	errors    map[string]int
	submitted int64
	lastReply time.Time
}

func usage(msg string) {
	if msg != "" {
		fmt.Fprintf(os.Stderr, "etcd-bench: %s\n", msg)
	}
	fmt.Fprintf(os.Stderr, "usage: etcd-bench --endpoints URL[,URL...] [--clients C] [--conns K]\n"+
		"                  [--count N] [--duration S] [--rate R] [--value-bytes B]\n"+
		"                  [--prefix P] [--timeout-ms MS] [--pids PID,...] [--json]\n")
	os.Exit(2)
}

func parseOptions() options {
	var o options
	var eps, pids string
	fs := flag.NewFlagSet("etcd-bench", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	fs.StringVar(&eps, "endpoints", "", "comma-separated client URLs, e.g. http://127.0.0.1:2379")
	fs.IntVar(&o.clients, "clients", 1, "concurrent goroutines, each with one transaction in flight")
	fs.IntVar(&o.conns, "conns", 0, "gRPC connections shared by the clients (0: one per endpoint)")
	fs.IntVar(&o.count, "count", 1000, "transactions to send")
	fs.Float64Var(&o.durationS, "duration", 0, "stop after S seconds (0: no limit)")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: R transactions a second (0: closed loop)")
	fs.IntVar(&o.valueBytes, "value-bytes", 100, "bytes of each value (an order is about that size)")
	fs.StringVar(&o.prefix, "prefix", "", "key prefix (default: /redeem/<unix-ns>/)")
	fs.IntVar(&o.timeoutMS, "timeout-ms", 5000, "per-transaction timeout")
	fs.BoolVar(&o.jsonOut, "json", false, "print one JSON object")
	fs.StringVar(&pids, "pids", "", "the members' process ids: report their CPU time per transaction")
	fs.Usage = func() {}
	if err := fs.Parse(os.Args[1:]); err != nil {
		usage(err.Error())
	}
	if fs.NArg() != 0 {
		usage("unexpected argument " + fs.Arg(0))
	}
	for _, e := range strings.Split(eps, ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.endpoints = append(o.endpoints, e)
		}
	}
	for _, p := range strings.Split(pids, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			usage("--pids takes process ids, e.g. 1234,1235")
		}
		o.pids = append(o.pids, n)
	}
	switch {
	case len(o.endpoints) == 0:
		usage("--endpoints is required")
	case o.clients < 1 || o.clients > maxClients:
		usage(fmt.Sprintf("--clients must be 1..%d", maxClients))
	case o.conns < 0 || o.conns > maxConns:
		usage(fmt.Sprintf("--conns must be 0..%d", maxConns))
	case o.count < 1 || o.count > maxCount:
		usage(fmt.Sprintf("--count must be 1..%d", maxCount))
	case o.durationS < 0 || o.durationS > maxDuration || math.IsNaN(o.durationS):
		usage(fmt.Sprintf("--duration must be 0..%d", maxDuration))
	case o.rate < 0 || o.rate > 1e6 || math.IsNaN(o.rate):
		usage("--rate must be 0..1000000")
	case o.valueBytes < 1 || o.valueBytes > maxValue:
		usage(fmt.Sprintf("--value-bytes must be 1..%d", maxValue))
	case o.timeoutMS < 1 || o.timeoutMS > 600000:
		usage("--timeout-ms must be 1..600000")
	case len(o.pids) > maxPids:
		usage(fmt.Sprintf("--pids takes at most %d process ids", maxPids))
	}
	if o.conns == 0 {
		o.conns = len(o.endpoints)
	}
	if o.conns > o.clients {
		o.conns = o.clients
	}
	if o.prefix == "" {
		o.prefix = fmt.Sprintf("/redeem/%d/", time.Now().UnixNano())
	}
	return o
}

// errCode names a failed transaction the way voucher-bench names its errors.
func errCode(err error) string {
	if err == context.DeadlineExceeded {
		return "TIMEOUT"
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.DeadlineExceeded:
			return "TIMEOUT"
		case codes.Unavailable:
			return "UNAVAILABLE"
		default:
			return strings.ToUpper(s.Code().String())
		}
	}
	return "OTHER"
}

func dial(eps []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   eps,
		DialTimeout: 5 * time.Second,
	})
}

// worker runs transactions until the counter passes count or the deadline.
func worker(o options, cli *clientv3.Client, value string, next *int64, t0 time.Time,
	deadline time.Time, res *result) {
	lat := make([]float64, 0, 1024)
	errs := map[string]int{}
	var last time.Time
	var sent int64
	for {
		k := atomic.AddInt64(next, 1) - 1
		if k >= int64(o.count) {
			break
		}
		start := time.Now()
		if o.rate > 0 {
			due := t0.Add(time.Duration(float64(k) / o.rate * float64(time.Second)))
			if !deadline.IsZero() && due.After(deadline) {
				break
			}
			if d := time.Until(due); d > 0 {
				time.Sleep(d)
			}
			start = due
		} else if !deadline.IsZero() && start.After(deadline) {
			break
		}
		key := fmt.Sprintf("%s%09d", o.prefix, k)
		ctx, cancel := context.WithTimeout(context.Background(),
			time.Duration(o.timeoutMS)*time.Millisecond)
		resp, err := cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, value)).
			Commit()
		cancel()
		end := time.Now()
		sent++
		last = end
		switch {
		case err != nil:
			errs[errCode(err)]++
		case !resp.Succeeded:
			errs["NOT_CREATED"]++
		default:
			lat = append(lat, float64(end.Sub(start).Nanoseconds())/1e6)
		}
	}
	res.mu.Lock()
	res.latencies = append(res.latencies, lat...)
	for c, n := range errs {
		res.errors[c] += n
	}
	res.submitted += sent
	if last.After(res.lastReply) {
		res.lastReply = last
	}
	res.mu.Unlock()
}

// rank is the nearest-rank percentile of sorted xs (as voucher-bench).
func rank(xs []float64, p float64) interface{} {
	if len(xs) == 0 {
		return nil
	}
	i := int(math.Ceil(p/100*float64(len(xs)))) - 1
	if i < 0 {
		i = 0
	}
	return math.Round(xs[i]*1000) / 1000
}

// countKeys asks each endpoint on its own how many keys the run wrote, with a
// serializable read (that member's own copy, not the leader's).  A follower
// may not have applied the last entries yet, so a member whose count is
// short is asked again every 100 ms for up to 10 s.  It returns the smallest
// count seen last and an error text if a member could not be asked.
func countKeys(o options, want int64) (int64, string) {
	least := int64(-1)
	for _, ep := range o.endpoints {
		cli, err := dial([]string{ep})
		if err != nil {
			return 0, ep + ": " + err.Error()
		}
		var n int64
		for try := 0; try < 100; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r, err := cli.Get(ctx, o.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly(),
				clientv3.WithSerializable())
			cancel()
			if err != nil {
				cli.Close()
				return 0, ep + ": " + err.Error()
			}
			n = r.Count
			if n >= want {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		cli.Close()
		if least < 0 || n < least {
			least = n
		}
	}
	return least, ""
}

// CPU time (utime + stime, all threads) of process pid in microseconds, from
// /proc/PID/stat; the fields after the command name's closing parenthesis
// start at field 3, so utime (14) and stime (15) are the 12th and 13th.
func procCPUus(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return (u + st) * (1000000 / userHZ), nil
}

// This process's CPU time (all threads: the goroutines and the gRPC
// client) in microseconds.
func selfCPUus() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Sec*1000000 + int64(ru.Utime.Usec) + ru.Stime.Sec*1000000 + int64(ru.Stime.Usec)
}

// sample reads a figure of every pid; a pid that cannot be read gets -1.
func sample(pids []int, read func(int) (int64, error)) []int64 {
	out := make([]int64, len(pids))
	for i, p := range pids {
		v, err := read(p)
		if err != nil {
			v = -1
		}
		out[i] = v
	}
	return out
}

// perOrder: each member's (after - before) / ok as {nodes {m1: ...}, mean,
// pids} (a member without a figure is null), and the members' sum (-1 if
// none has one).
func perOrder(before, after []int64, ok int64, pids []int) (map[string]interface{}, float64) {
	nodes := map[string]interface{}{}
	var sum float64
	good := 0
	for i := range pids {
		key := fmt.Sprintf("m%d", i+1)
		if before[i] < 0 || after[i] < before[i] {
			nodes[key] = nil
			continue
		}
		v := float64(after[i]-before[i]) / float64(ok)
		nodes[key] = math.Round(v*10) / 10
		sum += v
		good++
	}
	res := map[string]interface{}{"nodes": nodes, "pids": pids}
	if good == 0 {
		return res, -1
	}
	res["mean"] = math.Round(sum/float64(good)*10) / 10
	return res, sum
}

// Bytes the kernel counted as written to the storage device for process pid
// (write_bytes of /proc/PID/io), as voucher-bench reads its nodes'.
func procWriteBytes(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "write_bytes:" {
			return strconv.ParseInt(f[1], 10, 64)
		}
	}
	return 0, fmt.Errorf("/proc/%d/io: no write_bytes", pid)
}

// machineTicks reads the machine's ticks per state from the first line of
// /proc/stat: user, nice, system, idle, iowait, irq, softirq, steal (nil if
// it cannot), as voucher-bench reads them.
func machineTicks() []int64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil
	}
	line := strings.SplitN(string(b), "\n", 2)[0]
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return nil
	}
	out := make([]int64, 8)
	for i := range out {
		v, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return nil
		}
		out[i] = v
	}
	return out
}

// machineDiskBytes: bytes written to the machine's whole disks since boot
// (sectors written x 512 from /proc/diskstats, over the names in /sys/block
// less loop, ram, zram, dm- and md devices), as voucher-bench's note 12
// reads them; -1 if it cannot.
func machineDiskBytes() int64 {
	b, err := os.ReadFile("/proc/diskstats")
	if err != nil {
		return -1
	}
	var sum int64
	disks := 0
lines:
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 10 {
			continue
		}
		for _, p := range []string{"loop", "ram", "zram", "dm-", "md"} {
			if strings.HasPrefix(f[2], p) {
				continue lines
			}
		}
		if _, err := os.Stat("/sys/block/" + f[2]); err != nil {
			continue
		}
		v, err := strconv.ParseInt(f[9], 10, 64)
		if err != nil {
			continue
		}
		sum += v * 512
		disks++
	}
	if disks == 0 {
		return -1
	}
	return sum
}

// machineShares: each state's share of the ticks between two readings, as
// voucher-bench's machine_time_share (user + nice, system + irq + softirq,
// idle, iowait, steal); nil without a figure.
func machineShares(before, after []int64) map[string]interface{} {
	if before == nil || after == nil {
		return nil
	}
	d := make([]int64, 8)
	var total int64
	for i := range d {
		d[i] = after[i] - before[i]
		if d[i] < 0 {
			return nil
		}
		total += d[i]
	}
	if total == 0 {
		return nil
	}
	share := func(x int64) float64 { return math.Round(float64(x)/float64(total)*1000) / 1000 }
	return map[string]interface{}{
		"user": share(d[0] + d[1]), "system": share(d[2] + d[5] + d[6]),
		"idle": share(d[3]), "iowait": share(d[4]), "steal": share(d[7]),
	}
}

func main() {
	o := parseOptions()
	value := strings.Repeat("v", o.valueBytes)

	// The pool: every connection dialled and checked before the clock starts.
	// Connection j talks to endpoint j mod E only, as etcd's benchmark dials
	// its connections, so that the pool spreads over the members.
	pool := make([]*clientv3.Client, o.conns)
	for j := range pool {
		eps := []string{o.endpoints[j%len(o.endpoints)]}
		cli, err := dial(eps)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err = cli.Get(ctx, "/etcd-bench-warmup")
			cancel()
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd-bench: cannot reach %s: %v\n", strings.Join(eps, ","), err)
			os.Exit(1)
		}
		pool[j] = cli
	}

	res := &result{errors: map[string]int{}}
	var next int64
	var wg sync.WaitGroup
	ioBefore, ticksBefore, diskBefore := sample(o.pids, procWriteBytes), machineTicks(), machineDiskBytes()
	cpuBefore, selfBefore := sample(o.pids, procCPUus), selfCPUus()
	t0 := time.Now()
	var deadline time.Time
	if o.durationS > 0 {
		deadline = t0.Add(time.Duration(o.durationS * float64(time.Second)))
	}
	for i := 0; i < o.clients; i++ {
		wg.Add(1)
		go func(cli *clientv3.Client) {
			defer wg.Done()
			worker(o, cli, value, &next, t0, deadline, res)
		}(pool[i%o.conns])
	}
	wg.Wait()
	cpuAfter, selfAfter := sample(o.pids, procCPUus), selfCPUus()
	ioAfter, ticksAfter, diskAfter := sample(o.pids, procWriteBytes), machineTicks(), machineDiskBytes()
	for _, cli := range pool {
		cli.Close()
	}

	elapsed := res.lastReply.Sub(t0).Seconds()
	if res.lastReply.IsZero() {
		elapsed = time.Since(t0).Seconds()
	}
	lat := res.latencies
	sort.Float64s(lat)
	ok := int64(len(lat))
	var sum float64
	for _, x := range lat {
		sum += x
	}
	var mean interface{}
	if ok > 0 {
		mean = math.Round(sum/float64(ok)*1000) / 1000
	}
	var maxv interface{}
	if ok > 0 {
		maxv = math.Round(lat[ok-1]*1000) / 1000
	}
	nerr := res.submitted - ok
	keys, verr := countKeys(o, ok)
	verified := verr == "" && keys == ok

	loop := "closed"
	var rate interface{}
	if o.rate > 0 {
		loop, rate = "open", o.rate
	}
	var dur interface{}
	if o.durationS > 0 {
		dur = o.durationS
	}
	out := map[string]interface{}{
		"parameters": map[string]interface{}{
			"system": "etcd", "workload": "redeem-once",
			"endpoints": o.endpoints, "clients": o.clients, "conns": o.conns,
			"count": o.count, "duration_s": dur, "rate": rate, "loop": loop,
			"value_bytes": o.valueBytes, "prefix": o.prefix, "timeout_ms": o.timeoutMS,
		},
		"orders":           map[string]interface{}{"submitted": res.submitted, "certified": ok, "errors": nerr},
		"elapsed_s":        math.Round(elapsed*1000) / 1000,
		"throughput_per_s": math.Round(float64(ok)/elapsed*1000) / 1000,
		"latency_ms": map[string]interface{}{
			"p50": rank(lat, 50), "p90": rank(lat, 90), "p99": rank(lat, 99),
			"max": maxv, "mean": mean, "count": ok,
		},
		"errors":        res.errors,
		"verified_keys": keys,
		"verified":      verified,
	}
	if verr != "" {
		out["verify_error"] = verr
	}
	if m := machineShares(ticksBefore, ticksAfter); m != nil {
		out["machine_time_share"] = m
	} else {
		out["machine_time_share"] = nil
	}
	// The machine's disk writes over the timed run (voucher-bench's note 12).
	out["machine_disk"] = nil
	if diskBefore >= 0 && diskAfter >= diskBefore && ok > 0 && elapsed > 0 {
		d := float64(diskAfter - diskBefore)
		out["machine_disk"] = map[string]interface{}{
			"write_bytes_per_order": math.Round(d/float64(ok)*10) / 10,
			"write_mb_per_s":        math.Round(d/elapsed/1e6*1000) / 1000,
		}
	}
	// CPU per successful transaction, measured over the timed run only:
	// every member (--pids) and this client, as voucher-bench reports it.
	if ok > 0 {
		out["client_cpu_us_per_order"] = math.Round(float64(selfAfter-selfBefore)/float64(ok)*10) / 10
	}
	if ok > 0 && len(o.pids) > 0 {
		cpu, cpuSum := perOrder(cpuBefore, cpuAfter, ok, o.pids)
		if cpuSum >= 0 {
			cpu["sum"] = math.Round(cpuSum*10) / 10
		}
		out["cpu_us_per_order"] = cpu
		// Disk bytes per successful transaction over the same window.
		out["disk_bytes_per_order"], _ = perOrder(ioBefore, ioAfter, ok, o.pids)
	}
	if o.jsonOut {
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
	} else {
		fmt.Printf("etcd-bench: redeem-once Txn, %d clients on %d connections, %s loop, %d endpoints\n",
			o.clients, o.conns, loop, len(o.endpoints))
		fmt.Printf("orders:  %d submitted, %d succeeded, %d errors %v\n", res.submitted, ok, nerr, res.errors)
		fmt.Printf("time:    %.3f s; throughput %.1f/s\n", elapsed, float64(ok)/elapsed)
		fmt.Printf("latency: p50 %v ms, p90 %v ms, p99 %v ms, max %v ms, mean %v ms\n",
			rank(lat, 50), rank(lat, 90), rank(lat, 99), maxv, mean)
		fmt.Printf("verify:  at least %d keys under %s on every endpoint %s\n", keys, o.prefix, verr)
		if ok > 0 {
			fmt.Printf("cpu:     us per transaction: this client %.1f", float64(selfAfter-selfBefore)/float64(ok))
			for i := range o.pids {
				if cpuBefore[i] >= 0 && cpuAfter[i] >= 0 {
					fmt.Printf("; member %d %.1f", i+1, float64(cpuAfter[i]-cpuBefore[i])/float64(ok))
				}
			}
			fmt.Println()
		}
	}
	if nerr != 0 || !verified {
		os.Exit(1)
	}
}
