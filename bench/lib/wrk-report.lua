-- Loaded by bench/lib/wrk.mjs with `wrk -s`. The request's headers come from BENCH_WRK_HEADERS (one
-- "Name: value" a line) rather than `-H`, so the bearer is not on wrk's command line for `ps` to show.
-- At the end of a run, one line the bench parses instead of wrk's human-readable summary. Latencies are
-- in µs; utime and stime are wrk's own CPU time in clock ticks, read from /proc/self/stat (all its
-- threads, as the bench reads the server's). Defines no request() or response(), so wrk keeps sending
-- its one prebuilt request at full speed.
for line in (os.getenv("BENCH_WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+): (.*)$")
  assert(name, "BENCH_WRK_HEADERS: a line without a name")
  wrk.headers[name] = value
end

done = function(summary, latency, requests)
  local file = assert(io.open("/proc/self/stat", "r"))
  local stat = file:read("*a")
  file:close()
  -- Fields after the command name (which may hold spaces and parentheses): state is the first.
  local rest = stat:sub(stat:match(".*()%)") + 2)
  local fields = {}
  for field in rest:gmatch("%S+") do fields[#fields + 1] = field end
  local errors = summary.errors
  io.write(string.format(
    'wrk-report {"requests":%d,"durationUs":%d,"statusErrors":%d,"connectErrors":%d,"readErrors":%d,"writeErrors":%d,"timeouts":%d,"p50Us":%d,"p99Us":%d,"utimeTicks":%s,"stimeTicks":%s}\n',
    summary.requests, summary.duration, errors.status, errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), fields[12], fields[13]))
end
