package bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static bench.Bench.*;
import static bench.BareServer.*;
import static bench.Compare.*;
import static bench.Floor.*;
import static bench.Memory.*;
import static bench.Target.*;

/**
 * HTTP figures: sequential PUT latency against the floor, GET throughput, writes/s with
 * 1, 4 and 16 clients; and the warm-up every target gets first.
 */
final class Http {

	private Http() {
	}

	static void http() throws Exception {
		Target statekeeper = Target.statekeeper(work.resolve("statekeeper"), "-Xmx1g");
		Target bare = Target.bare(work.resolve("bare"));
		Target etcd = Files.isExecutable(Path.of("/usr/bin/etcd")) ? Target.etcd(work.resolve("etcd")) : null;
		List<Target> targets = (etcd != null) ? List.of(statekeeper, bare, etcd) : List.of(statekeeper, bare);
		try {
			for (Target target : targets) {
				// etcd never gets 10 MiB (it keeps every revision), as in the rounds below
				warm(target, target.etcd() ? List.of(1024, 100 * 1024, 1024 * 1024)
						: List.of(1024, 100 * 1024, 1024 * 1024, 10 * 1024 * 1024), target != bare);
			}

			System.out.println("== sequential PUT latency, one client (ms): medians of " + ROUNDS
					+ " interleaved rounds; bare: the floor's recipe behind a bare HTTP server");
			System.out.printf("%-8s %9s %9s %9s | %9s %9s %8s %13s %8s | %9s %9s %8s | %s%n", "size", "floor p50",
					"floor p99", "bare p50", "sk p50", "sk p99", "sk/floor", "(rounds)", "sk/bare", "etcd p50", "etcd p99",
					"sk/etcd", "CPU per PUT (ms): bare, sk");
			for (Map.Entry<String, Integer> size : SIZES.entrySet()) {
				byte[] body = state(size.getValue(), 2);
				boolean withEtcd = etcd != null && size.getValue() <= 1024 * 1024;
				Path serviceScript = statekeeper.putScript("lat-" + size.getKey(), body, false);
				Path bareScript = bare.putScript("lat-" + size.getKey(), body, false);
				Path etcdScript = withEtcd ? etcd.putScript("lat-" + size.getKey(), body, false) : null;
				double[][] rounds = new double[ROUNDS][];
				for (int round = 0; round < ROUNDS; round++) {
					// floor, bare, service and etcd one after the other, round after round,
					// so that each ratio compares runs seconds apart on the same disk
					double[] f = floor(work.resolve("floor"), body, floorIterations / ROUNDS);
					Wrk b = bare.wrk(bareScript, 1, roundSeconds());
					Wrk s = statekeeper.wrk(serviceScript, 1, roundSeconds());
					Wrk e = withEtcd ? etcd.wrk(etcdScript, 1, roundSeconds()) : null;
					rounds[round] = new double[] { f[0], f[1], s.p50(), s.p99(), s.p50() / f[0],
							(e != null) ? e.p50() : Double.NaN, (e != null) ? e.p99() : Double.NaN,
							(e != null) ? s.p50() / e.p50() : Double.NaN, b.p50(), s.p50() / b.p50(), b.cpuPerRequest(),
							s.cpuPerRequest() };
				}
				double[] ratios = column(rounds, 4);
				System.out.printf("%-8s %9.2f %9.2f %9.2f | %9.2f %9.2f %8.2f %13s %8.2f | %9s %9s %8s | %.2f, %.2f%n",
						size.getKey(),
						median(column(rounds, 0)), median(column(rounds, 1)), median(column(rounds, 8)),
						median(column(rounds, 2)), median(column(rounds, 3)), median(ratios),
						String.format("(%.2f-%.2f)", ratios[0], ratios[ratios.length - 1]), median(column(rounds, 9)),
						withEtcd ? String.format("%.2f", median(column(rounds, 5))) : "-",
						withEtcd ? String.format("%.2f", median(column(rounds, 6))) : "-",
						withEtcd ? String.format("%.2f", median(column(rounds, 7))) : "-", median(column(rounds, 10)),
						median(column(rounds, 11)));
			}

			System.out.println();
			System.out.println("== GET throughput of a 10 KiB state (req/s)");
			String etag = statekeeper.seed("get-10k", state(10 * 1024, 3));
			if (etcd != null) {
				etcd.seed("get-10k", state(10 * 1024, 3));
			}
			for (int clients : new int[] { 1, 16 }) {
				Wrk s = statekeeper.wrk(statekeeper.getScript("get-10k", null), clients, seconds);
				Wrk n = statekeeper.wrk(statekeeper.getScript("get-10k", etag), clients, seconds);
				Wrk e = (etcd != null) ? etcd.wrk(etcd.getScript("get-10k", null), clients, seconds) : null;
				System.out.printf("%2d clients: statekeeper %8.0f (304: %8.0f)   etcd %8s   sk/etcd %s%n", clients,
						s.rate(), n.rate(), (e != null) ? String.format("%.0f", e.rate()) : "-",
						(e != null) ? String.format("%.2f", s.rate() / e.rate()) : "-");
			}

			System.out.println();
			System.out.println("== writes/s, 1 KiB states; floor: the recipe alone in plain Java, a directory per "
					+ "thread; bare: the recipe behind a bare HTTP server");
			System.out.printf("%-7s %7s %7s %8s %9s %7s | %8s %8s %9s | %s%n", "clients", "floor", "bare", "distinct",
					"If-Match", "etcd", "sk/bare", "sk/etcd", "bare/etcd", "CPU per write (ms): floor, bare, sk, etcd");
			byte[] small = state(1024, 4);
			for (int clients : new int[] { 1, 4, 16 }) {
				double[] floor = floorRate(work.resolve("floor-rate-" + clients), small, clients, seconds);
				Wrk b = bare.wrk(bare.putScript("w" + clients, small, true), clients, seconds);
				Wrk distinct = statekeeper.wrk(statekeeper.putScript("w" + clients, small, true), clients, seconds);
				statekeeper.seed("shared" + clients, small);
				Wrk shared = statekeeper.wrk(statekeeper.ifMatchScript("shared" + clients, small), clients, seconds);
				Wrk e = (etcd != null) ? etcd.wrk(etcd.putScript("w" + clients, small, true), clients, seconds) : null;
				System.out.printf("%-7d %7.0f %7.0f %8.0f %9.0f %7s | %8.2f %8s %9s | %.2f, %.2f, %.2f, %s%n", clients,
						floor[0], b.rate(), distinct.rate(), shared.okRate(), (e != null) ? String.format("%.0f", e.rate()) : "-",
						distinct.rate() / b.rate(), (e != null) ? String.format("%.2f", distinct.rate() / e.rate()) : "-",
						(e != null) ? String.format("%.2f", b.rate() / e.rate()) : "-", floor[1], b.cpuPerRequest(),
						distinct.cpuPerRequest(), (e != null) ? String.format("%.2f", e.cpuPerRequest()) : "-");
			}
		}
		finally {
			for (Target target : targets) {
				target.stop();
			}
		}
	}

	/**
	 * Warms a target up until its JIT is done: rounds of the load that is measured next
	 * (PUTs of each size, distinct 1 KiB states on two connections, GETs), at least
	 * {@link #warmSeconds}, then more rounds until one spends less than
	 * {@link #JIT_QUIET} of its time compiling (at most {@link #warmRoundsMax}). On
	 * two cores a C2 thread still at work takes most of a core from the server and the
	 * client: after a fixed 20 s of PUTs it still compiled for a third of the next 10 s,
	 * and a 100 KiB PUT's p50 went from 2.6 to 2.1 ms over the next 30 s. Measured
	 * figures are of the service as it runs for hours, not of its first minute; the
	 * warm-up line says how long that took.
	 */
	static void warm(Target target, List<Integer> sizes, boolean gets) throws Exception {
		long start = System.nanoTime();
		// the scripts (and their bodies, up to 10 MiB) are written once, not every round
		Path distinct = target.putScript("warm", state(1024, 1), true);
		List<Path> sequential = new ArrayList<>();
		for (int size : sizes) {
			sequential.add(target.putScript("warm-" + size, state(size, 1), false));
		}
		Path get = null;
		if (gets) {
			target.seed("warm-get", state(10 * 1024, 1));
			get = target.getScript("warm-get", null);
		}
		int perStep = Math.max(1, warmSeconds / 6);
		double share = Double.NaN;
		int rounds = 0;
		while (rounds < warmRoundsMax) {
			double compiledBefore = target.reportsCompilation() ? target.compilationMillis() : 0;
			long roundStart = System.nanoTime();
			target.wrk(distinct, 2, perStep);
			for (Path script : sequential) {
				target.wrk(script, 1, perStep);
			}
			if (get != null) {
				target.wrk(get, 2, perStep);
			}
			rounds++;
			double roundMillis = (System.nanoTime() - roundStart) / 1e6;
			share = target.reportsCompilation() ? (target.compilationMillis() - compiledBefore) / roundMillis : 0;
			boolean longEnough = (System.nanoTime() - start) / 1e9 >= warmSeconds;
			if (longEnough && share < JIT_QUIET) {
				break;
			}
		}
		System.out.printf("warm-up: %s %.0f s in %d rounds%s%n", target.name, (System.nanoTime() - start) / 1e9, rounds,
				target.reportsCompilation()
						? String.format("; the last round compiled for %.1f%% of its time", share * 100) : "");
	}

}
