package bench;

import java.nio.file.Path;
import java.util.List;

import static bench.Bench.*;
import static bench.BareServer.*;
import static bench.Floor.*;
import static bench.Http.*;
import static bench.Memory.*;
import static bench.Target.*;

/**
 * The A/B comparison: two builds of the service, run in alternating pairs on the same
 * machine, and a sign test on which was faster.
 */
final class Compare {

	private Compare() {
	}

	/**
	 * Two builds side by side, on the same disk at the same time: pairs (ten, or
	 * {@code --pairs}) of alternating runs of sequential PUTs (1 KiB, or
	 * {@code --size 10MiB} …), in both orders. The only way
	 * found to judge a change smaller than the disk's minute-to-minute variation.
	 */
	static void compare(Path before, Path after, int size, int pairs) throws Exception {
		Target a = Target.statekeeper(work.resolve("a"), "-Xmx1g", before);
		Target b = null;
		try {
			b = Target.statekeeper(work.resolve("b"), "-Xmx1g", after);
			byte[] body = state(size, 5);
			for (Target target : List.of(a, b)) {
				warm(target, List.of(size), false);
			}
			Path scriptA = a.putScript("ab", body, false);
			Path scriptB = b.putScript("ab", body, false);
			int wins = 0;
			int cpuWins = 0;
			System.out.printf("sequential %d-byte PUTs, %d s runs: p50 (ms) and the service's CPU per PUT (ms)%n"
					+ "%21s %21s%n", size, Math.max(seconds / 2, 2), before.getFileName(), after.getFileName());
			for (int i = 0; i < pairs; i++) {
				boolean afterFirst = i >= pairs / 2;
				int runSeconds = Math.max(seconds / 2, 2);
				Wrk ra;
				Wrk rb;
				if (afterFirst) {
					rb = b.wrk(scriptB, 1, runSeconds);
					ra = a.wrk(scriptA, 1, runSeconds);
				}
				else {
					ra = a.wrk(scriptA, 1, runSeconds);
					rb = b.wrk(scriptB, 1, runSeconds);
				}
				wins += (rb.p50() < ra.p50()) ? 1 : 0;
				cpuWins += (rb.cpuPerRequest() < ra.cpuPerRequest()) ? 1 : 0;
				System.out.printf("%10.2f %10.3f %10.2f %10.3f%n", ra.p50(), ra.cpuPerRequest(), rb.p50(), rb.cpuPerRequest());
			}
			System.out.printf(
					"%s had the lower p50 in %d of %d pairs (sign test p = %.2f), the lower CPU per PUT in %d (p = %.2f)%n",
					after.getFileName(), wins, pairs, signTest(wins, pairs), cpuWins, signTest(cpuWins, pairs));
		}
		finally {
			a.stop();
			if (b != null) {
				b.stop();
			}
		}
	}

	/**
	 * Two-sided sign test: how likely a split at least this uneven is when neither build
	 * is faster (each pair a fair coin).
	 */
	static double signTest(int wins, int pairs) {
		int extreme = Math.min(wins, pairs - wins);
		double tail = 0;
		double ways = 1;
		for (int k = 0; k <= extreme; k++) {
			tail += ways;
			ways = ways * (pairs - k) / (k + 1);
		}
		return Math.min(1, 2 * tail / Math.pow(2, pairs));
	}

}
