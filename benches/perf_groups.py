"""Groups a `perf report --no-children --sort dso,sym --stdio -g none` listing by what each
symbol does (docs/benchmarks.md, "Where the time goes"): python3 benches/perf_groups.py FILE.
The release binary has no debug information, so symbols are matched by name, not call graph."""
import sys, re, collections
groups = collections.OrderedDict((k, 0.0) for k in [
 "SQLite's engine (VDBE, B-tree, page cache, WAL, statement preparation)",
 "SQLite FTS5 (the trigram index)",
 "kernel: file reads and writes",
 "kernel: scheduling and futexes",
 "kernel: loopback TCP and epoll",
 "kernel: other (syscall entry and exit, page faults)",
 "glibc malloc, free, realloc",
 "glibc mutexes and memory copies",
 "SAML: parse, exclusive c14n, SHA-256, RSA (ssogate's verifier and libcrypto)",
 "diesel: building queries, binding, decoding rows",
 "actix-web, tokio, HTTP parsing",
 "ssogate's own code outside the SAML check (serde, tracing, strings)",
 "other",
])
K = list(groups)
line_re = re.compile(r'^\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(.*)$')
for line in open(sys.argv[1]):
    m = line_re.match(line)
    if not m: continue
    pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4)
    s = sym.lower()
    if kind == 'k' or 'kernel' in dso:
        if re.search(r'futex|schedul|switch|wake|_raw_spin_unlock|pick_next|dequeue|enqueue|idle|cpuidle|tick|update_curr|load_balance|rcu|hrtimer|mwait|poll_idle|intel_idle|acpi', s):
            g = K[3]
        elif re.search(r'tcp|ip_|skb|sock|epoll|net|loopback|inet|__dev_queue|napi|ep_', s):
            g = K[4]
        elif re.search(r'filemap|ext4|xfs|copy_user|copy_to|copy_from|_copy|iter|vfs_|page_cache|folio|generic_perform|jbd2|iomap|pread|pwrite|btrfs|shmem|fsnotify|file|rw_verify|mark_page|lru|buffer|mpage|block_', s):
            g = K[2]
        else:
            g = K[5]
    elif 'libc' in dso:
        if re.search(r'malloc|free|realloc|calloc|tcache|consolidate|memalign', s):
            g = K[6]
        else:
            g = K[7]
    elif 'crypto' in dso or 'libssl' in dso:
        g = K[8]
    elif 'diesel' in s:
        g = K[9]
    elif re.search(r'fts5', s):
        g = K[1]
    elif re.search(r'sqlite|vdbe|btree|pager|pcache|wal[a-z]|^wal|yy_|lookaside|mem[0-9]', s):
        g = K[0]
    elif re.search(r'saml|c14n|canonical|xml|roxmltree|sha2|rsa|signature|digest', s):
        g = K[8]
    elif re.search(r'actix|tokio|h1::|http|mio|bytes', s):
        g = K[10]
    elif dso.startswith('ssogate'):
        g = K[11]
    else:
        g = K[12]
    groups[g] += pct
tot = sum(groups.values())
for k, v in groups.items():
    print(f"| {k} | {v/tot*100:.1f} % |")
print(f"(the listing's shares add up to {tot:.1f} %; rows are of that total)")
