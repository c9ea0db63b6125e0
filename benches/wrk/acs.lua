-- wrk script for benches/http.rs: POSTs every ACS form body of a file exactly once, then stops.
--
--   wrk -t2 -c16 -d600s --latency -s benches/wrk/acs.lua \
--       http://127.0.0.1:PORT/t/acme/saml/okta/acs -- bodies.txt 2
--
-- bodies.txt holds one urlencoded form body (SAMLResponse=...) a line; the last argument repeats
-- -t. Thread i (numbered 1..T in setup) posts lines i, i+T, i+2T, ... as
-- application/x-www-form-urlencoded. A response other than 303 counts as an error (non303).
--
-- How this fits wrk 4's loop, which has no notion of a fixed number of requests:
-- * No request beyond the bodies is ever sent, so every response counted is a sign-in. wrk
--   calls delay() before each request: it returns 0 while the thread has a body left to hand
--   out (reserving it) and an hour once all are handed out, so a connection with nothing left
--   to post stays idle instead of sending an extra request.
-- * wrk calls request() once on the first thread before the run, only to check that the
--   request parses; that call sends nothing and does not use up a body.
-- * A thread stops itself (wrk.thread:stop() in response()) once all its bodies are answered.
-- * wrk's main thread sleeps for the whole -d, which is only a backstop here: the last thread
--   to finish (each appends a line to bodies.txt.done, truncated at start) sends SIGINT to
--   its own process (LuaJIT's ffi), which ends the sleep. A lost request (socket error)
--   leaves its thread running until -d: requests < expected in the RESULT line.
-- * done() prints one machine-readable line:
--     RESULT requests= expected= duration_us= errors= non303= p50_us= p90_us= p99_us= max_us=
--   requests: responses (sign-ins answered); expected: bodies loaded; duration_us: wrk's run
--   time (as in its Requests/sec); errors: socket errors (connect, read, write, timeout);
--   latencies are wrk's, after its coordinated-omission correction. FIRST_REFUSED lines
--   show each thread's first non-303 response.

local ffi = require("ffi")
ffi.cdef [[
int getpid(void);
int kill(int pid, int sig);
]]
local SIGINT = 2
local IDLE_MS = 3600 * 1000

-- Main state: the threads, numbered as wrk creates them.
threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

-- Thread state. Globals, so that done() can read them with thread:get.
expected, handed_out, sent, answered, non303 = 0, 0, 0, 0, 0
first_refused = nil
local reqs, donefile, nthreads, verify_call = {}, nil, 0, false

function init(args)
   local file = args[1]
   nthreads = tonumber(args[2])
   assert(file and nthreads and nthreads >= 1, "usage: ... -- BODIES_FILE THREADS")
   local headers = {}
   for k, v in pairs(wrk.headers) do headers[k] = v end
   headers["Content-Type"] = "application/x-www-form-urlencoded"
   local k = 0
   for line in io.lines(file) do
      if k % nthreads == id - 1 and line ~= "" then
         reqs[#reqs + 1] = wrk.format("POST", wrk.path, headers, line)
      end
      k = k + 1
   end
   expected = #reqs
   assert(expected > 0, "thread " .. id .. " has no body to post")
   donefile = file .. ".done"
   -- Thread 1's init runs before any thread starts, and it alone gets the check call.
   if id == 1 then
      io.open(donefile, "w"):close()
      verify_call = true
   end
end

function delay()
   if handed_out < expected then
      handed_out = handed_out + 1
      return 0
   end
   return IDLE_MS
end

function request()
   if verify_call then
      verify_call = false
      return reqs[1]
   end
   sent = sent + 1
   assert(sent <= expected, "request() past the last body (a request was lost and re-sent)")
   return reqs[sent]
end

local function finished()
   local f = assert(io.open(donefile, "a"))
   f:write(id, "\n")
   f:close()
   local n = 0
   for _ in io.lines(donefile) do n = n + 1 end
   if n == nthreads then ffi.C.kill(ffi.C.getpid(), SIGINT) end
   wrk.thread:stop()
end

function response(status, headers, body)
   answered = answered + 1
   if status ~= 303 then
      non303 = non303 + 1
      if not first_refused then
         first_refused = status .. " " .. (body:sub(1, 600):gsub("%s+", " "))
      end
   end
   if answered == expected then finished() end
end

function done(summary, latency, requests)
   local answered_all, expected_all, non303_all = 0, 0, 0
   for _, t in ipairs(threads) do
      answered_all = answered_all + t:get("answered")
      expected_all = expected_all + t:get("expected")
      non303_all = non303_all + t:get("non303")
      local refused = t:get("first_refused")
      if refused then
         io.write(string.format("FIRST_REFUSED thread=%d status=%s\n", t:get("id"), refused))
      end
   end
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d expected=%d duration_us=%d errors=%d non303=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
      answered_all, expected_all, summary.duration, e.connect + e.read + e.write + e.timeout,
      non303_all, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max))
end
