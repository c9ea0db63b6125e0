-- wrk script for benches/http.rs: GET /auth/verify with a session cookie for -d seconds.
--
--   wrk -t2 -c32 -d10s --latency -s benches/wrk/verify.lua \
--       -H 'Cookie: ssogate_session=...' http://127.0.0.1:PORT/auth/verify
--
-- A response other than 200 counts as an error (non200). done() prints one line:
--   RESULT requests= duration_us= errors= non200= p50_us= p90_us= p99_us= max_us=
-- requests: responses; duration_us: wrk's run time (as in its Requests/sec); errors: socket
-- errors (connect, read, write, timeout); latencies are wrk's, after its coordinated-omission
-- correction. FIRST_REFUSED lines show each thread's first non-200 response.

threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

non200 = 0
first_refused = nil

function response(status, headers, body)
   if status ~= 200 then
      non200 = non200 + 1
      if not first_refused then
         first_refused = status .. " " .. (body:sub(1, 600):gsub("%s+", " "))
      end
   end
end

function done(summary, latency, requests)
   local non200_all = 0
   for _, t in ipairs(threads) do
      non200_all = non200_all + t:get("non200")
      local refused = t:get("first_refused")
      if refused then
         io.write(string.format("FIRST_REFUSED thread=%d status=%s\n", t:get("id"), refused))
      end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d errors=%d non200=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, non200_all,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
