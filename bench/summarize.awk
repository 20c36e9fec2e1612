# summarize.awk — turns the JSON lines of bench_contexts and bench_calls (several runs of
# each, in any order) into markdown tables: one row per configuration, each number the
# median over runs (failed calls and VM recycles summed over runs: a configuration with
# failures never counts as meeting its target), plus the ratios the README quotes. POSIX
# awk; used by bench/run.sh.
#
#   awk -f bench/summarize.awk bench/out/contexts.jsonl bench/out/calls.jsonl

# The value of "key" in a flat JSON line, without quotes; "" when absent.
function field(line, key,    tag, at, rest) {
    tag = "\"" key "\":"
    at = index(line, tag)
    if (!at)
        return ""
    rest = substr(line, at + length(tag))
    if (substr(rest, 1, 1) == "\"") {
        rest = substr(rest, 2)
        return substr(rest, 1, index(rest, "\"") - 1)
    }
    match(rest, /^[^,}]*/)
    return substr(rest, 1, RLENGTH)
}

function median(list,    v, n, i, j, t) {
    n = split(list, v, " ")
    if (n == 0)
        return ""
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) {
            t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
        }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

function remember(group, metric, line,    value) {
    value = field(line, metric)
    if (value != "")
        values[group, metric] = values[group, metric] " " value
}

function add_up(group, metric, line) {
    sums[group, metric] += field(line, metric)
}

function med(group, metric) {
    return median(values[group, metric])
}

function add_group(group, kind) {
    if (group in runs) {
        runs[group]++
        return
    }
    runs[group] = 1
    order[kind, ++count[kind]] = group
}

function ratio(a, b) {
    return (a == "" || b == "" || b + 0 == 0) ? "n/a" : sprintf("%.2f×", a / b)
}

function verdict(is_met) {
    return is_met ? "met" : "**missed**"
}

/"bench":"contexts"/ {
    g = "contexts n=" field($0, "n") " runtimes=" field($0, "runtimes") " creators=" field($0, "creator_threads")
    add_group(g, "contexts")
    n_of[g] = field($0, "n"); runtimes_of[g] = field($0, "runtimes"); creators_of[g] = field($0, "creator_threads")
    split("create_median_us create_p99_us create_wall_per_ctx_us rss_per_ctx_kb rss_left_after_destroy_per_ctx_kb destroy_per_ctx_us target_median_us target_rss_per_ctx_kb", metrics, " ")
    for (i in metrics)
        remember(g, metrics[i], $0)
    add_up(g, "failures", $0); add_up(g, "vm_recycles", $0)
    if (field($0, "runtimes") + 0 > max_runtimes + 0)
        max_runtimes = field($0, "runtimes")
}

/"bench":"(sync_call|async_call|async_eval)"/ {
    g = field($0, "bench") " runtimes=" field($0, "runtimes") " refill=" field($0, "refill") " limits=" field($0, "limits")
    add_group(g, "calls")
    bench_of[g] = field($0, "bench"); runtimes_of[g] = field($0, "runtimes"); refill_of[g] = field($0, "refill")
    limits_of[g] = field($0, "limits")
    split("p50_us p99_us p999_us calls_per_s target_p50_us target_calls_per_s", metrics, " ")
    for (i in metrics)
        remember(g, metrics[i], $0)
    add_up(g, "errors", $0); add_up(g, "vm_recycles", $0)
}

function print_contexts(    i, g, median_us, rss_kb, wall_us) {
    if (!count["contexts"])
        return
    print "### Context creation (median of runs)"
    print ""
    print "| N | runtimes | creator threads | runs | create median µs | create p99 µs | wall / N µs | RSS / ctx KB | RSS kept after destroy KB | destroy µs / ctx | failures / recycles | median vs 200 µs | RSS vs 120 KB |"
    print "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= count["contexts"]; i++) {
        g = order["contexts", i]
        median_us = med(g, "create_median_us"); rss_kb = med(g, "rss_per_ctx_kb")
        wall_us = med(g, "create_wall_per_ctx_us")
        printf "| %s | %s | %s | %d | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f | %d / %d | %s %s | %s %s |\n",
            n_of[g], runtimes_of[g], creators_of[g], runs[g], median_us, med(g, "create_p99_us"),
            wall_us, rss_kb, med(g, "rss_left_after_destroy_per_ctx_kb"),
            med(g, "destroy_per_ctx_us"), sums[g, "failures"], sums[g, "vm_recycles"],
            ratio(median_us, med(g, "target_median_us")),
            verdict(median_us + 0 <= med(g, "target_median_us") + 0), ratio(rss_kb, med(g, "target_rss_per_ctx_kb")),
            verdict(rss_kb + 0 <= med(g, "target_rss_per_ctx_kb") + 0)
    }
    print ""
    for (i = 1; i <= count["contexts"]; i++) {
        g = order["contexts", i]
        if (runtimes_of[g] != 1)
            continue
        wide = "contexts n=" n_of[g] " runtimes=" max_runtimes " creators=" max_runtimes
        if (max_runtimes > 1 && (wide in runs))
            printf "- N=%s: creation throughput, %s runtimes × %s creator threads vs 1 × 1: %s\n",
                n_of[g], max_runtimes, max_runtimes,
                ratio(med(g, "create_wall_per_ctx_us"), med(wide, "create_wall_per_ctx_us"))
    }
    print ""
}

function call_row(g,    p50, rate, target) {
    if (bench_of[g] == "sync_call") {
        p50 = med(g, "p50_us"); target = med(g, "target_p50_us")
        printf "| sync jsp_call | %s | %s | – | %d | %.2f | %.1f | %.1f | – | %d / %d | p50 %s of 10 µs, %s |\n",
            limits_of[g], runtimes_of[g], runs[g], p50, med(g, "p99_us"), med(g, "p999_us"), sums[g, "errors"],
            sums[g, "vm_recycles"], ratio(p50, target),
            verdict(p50 + 0 <= target + 0 && sums[g, "errors"] == 0)
    } else {
        rate = med(g, "calls_per_s"); target = med(g, "target_calls_per_s")
        printf "| %s | %s | %s | %s | %d | – | – | – | %.0f | %d / %d | %s of 1M/s, %s |\n",
            bench_of[g] == "async_call" ? "async jsp_call_async" : "async jsp_eval_async",
            limits_of[g], runtimes_of[g], refill_of[g], runs[g], rate, sums[g, "errors"], sums[g, "vm_recycles"],
            ratio(rate, target), verdict(rate + 0 >= target + 0 && sums[g, "errors"] == 0)
    }
}

function print_calls(    i, one, two) {
    if (!count["calls"])
        return
    print "### Calls to `inc(x)` (median of runs)"
    print ""
    print "| benchmark | time limits | runtimes | refill | runs | p50 µs | p99 µs | p999 µs | calls/s | errors / recycles | vs target |"
    print "|---|---|---|---|---|---|---|---|---|---|---|"
    for (i = 1; i <= count["calls"]; i++)
        call_row(order["calls", i])
    print ""
    one = "async_call runtimes=1 refill=producer limits=default"; two = "async_call runtimes=2 refill=producer limits=default"
    bare = "async_call runtimes=2 refill=producer limits=none"
    if ((one in runs) && (two in runs))
        printf "- async call throughput, 2 runtimes vs 1: %s\n", ratio(med(two, "calls_per_s"), med(one, "calls_per_s"))
    if ((bare in runs) && (two in runs))
        printf "- async call throughput without vs with time limits (2 runtimes): %s\n", ratio(med(bare, "calls_per_s"), med(two, "calls_per_s"))
    if (("async_eval runtimes=1 refill=producer limits=default" in runs) && (one in runs))
        printf "- async eval vs async call throughput (1 runtime): %s\n",
            ratio(med("async_eval runtimes=1 refill=producer limits=default", "calls_per_s"), med(one, "calls_per_s"))
    if (("async_call runtimes=1 refill=callback limits=default" in runs) && (one in runs))
        printf "- refill from the completion callback vs a producer thread (1 runtime): %s\n",
            ratio(med("async_call runtimes=1 refill=callback limits=default", "calls_per_s"), med(one, "calls_per_s"))
    print ""
}

END {
    print_contexts()
    print_calls()
}
