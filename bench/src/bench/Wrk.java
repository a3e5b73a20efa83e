package bench;

/**
 * One wrk run: requests/s, successful requests/s, latency percentiles (ms), and the
 * target process's CPU time per request (ms; user and system, all its threads).
 */
record Wrk(double rate, double okRate, double p50, double p99, double cpuPerRequest) {
}
