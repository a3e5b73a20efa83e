package bench;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static bench.Bench.*;
import static bench.BareServer.*;
import static bench.Compare.*;
import static bench.Floor.*;
import static bench.Http.*;
import static bench.Target.*;

/**
 * Memory figures: many states in a small heap, the heap a large PUT needs, start-up over
 * 1 GiB of states.
 */
final class Memory {

	private Memory() {
	}

	static void memory() throws Exception {
		System.out.println();
		System.out.println("== memory");
		// 1,000 states of 100 KiB, served from a 512 MiB heap, before and after a restart
		Path dir = work.resolve("thousand");
		Target service = Target.statekeeper(dir, "-Xmx512m");
		try {
			writeMany(service, 1000, 100 * 1024);
			readMany(service, 1000, 100 * 1024);
			System.out.printf("1,000 x 100 KiB, -Xmx512m: stored and served; live heap after a full GC %d MiB%n",
					service.liveHeapMiB());
		}
		finally {
			service.stop();
		}
		long start = System.nanoTime();
		service = Target.statekeeper(dir, "-Xmx512m");
		try {
			double startUp = (System.nanoTime() - start) / 1e9;
			readMany(service, 1000, 100 * 1024);
			System.out.printf("  after a restart with -Xmx512m: ready in %.1f s, all 1,000 served; live heap %d MiB%n",
					startUp, service.liveHeapMiB());
		}
		finally {
			service.stop();
		}

		crowd();

		// the smallest heap a 32 MiB PUT (and GET) succeeds in, against an idle service's
		int idle = smallestHeap(1024);
		int large = smallestHeap(32 * 1024 * 1024);
		System.out.printf("32 MiB PUT: smallest -Xmx for an idle service %d MiB, for 32 MiB PUTs and GETs %d MiB: "
				+ "%d MiB more, %.1fx the body%n", idle, large, large - idle, (large - idle) / 32.0);

		// start-up verifying 1 GiB of states (1,024 x 1 MiB)
		Path big = work.resolve("gib");
		Path empty = work.resolve("empty");
		service = Target.statekeeper(big, "-Xmx3g");
		try {
			writeMany(service, 1024, 1024 * 1024);
		}
		finally {
			service.stop();
		}
		Target.statekeeper(empty, "-Xmx3g").stop();
		boolean cold = dropCaches();
		double emptyStart = timeStart(empty);
		cold = dropCaches() && cold;
		double fullStart = timeStart(big);
		System.out.printf("start-up verifying 1 GiB (1,024 x 1 MiB, %s page cache): ready in %.1f s "
				+ "(an empty store: %.1f s)%n", cold ? "cold" : "warm", fullStart, emptyStart);
	}

	/**
	 * Eight clients PUT 30 MiB states at once into a 512 MiB heap, three times over: each
	 * PUT is stored or refused with 503 (max-body-memory), none fails, and what is stored
	 * reads back.
	 */
	static void crowd() throws Exception {
		int clients = 8;
		int size = 30 * 1024 * 1024;
		Target service = Target.statekeeper(work.resolve("crowd"), "-Xmx512m");
		java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
		try {
			Map<Integer, Integer> statuses = new java.util.TreeMap<>();
			byte[][] stored = new byte[clients][];
			for (int round = 0; round < 3; round++) {
				List<java.util.concurrent.Future<Integer>> puts = new ArrayList<>();
				byte[][] bodies = new byte[clients][];
				for (int i = 0; i < clients; i++) {
					bodies[i] = state(size, round * clients + i);
					HttpRequest put = service.put("crowd-" + i, bodies[i]);
					puts.add(pool.submit(() -> CLIENT.send(put, HttpResponse.BodyHandlers.discarding()).statusCode()));
				}
				for (int i = 0; i < clients; i++) {
					int status = puts.get(i).get();
					statuses.merge(status, 1, Integer::sum);
					if (status / 100 == 2) {
						stored[i] = bodies[i];
					}
				}
			}
			int readBack = 0;
			for (int i = 0; i < clients; i++) {
				HttpResponse<byte[]> got = CLIENT.send(service.get("crowd-" + i), HttpResponse.BodyHandlers.ofByteArray());
				if ((stored[i] == null) ? got.statusCode() == 404 : Arrays.equals(got.body(), stored[i])) {
					readBack++;
				}
			}
			System.out.printf("%d clients x 30 MiB PUTs at once, -Xmx512m, 3 rounds: status %s; %d of %d states read "
					+ "back as last stored; direct buffers %d MiB; live heap %d MiB%n", clients, statuses, readBack,
					clients, service.directMiB(), service.liveHeapMiB());
		}
		finally {
			pool.shutdown();
			service.stop();
			deleteTree(work.resolve("crowd"));
		}
	}

	static double timeStart(Path dir) throws Exception {
		long start = System.nanoTime();
		Target service = Target.statekeeper(dir, "-Xmx3g");
		double elapsed = (System.nanoTime() - start) / 1e9;
		service.stop();
		return elapsed;
	}

	static boolean dropCaches() {
		try {
			new ProcessBuilder("sync").start().waitFor();
			Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
			return true;
		}
		catch (Exception ex) {
			return false;
		}
	}

	static int smallestHeap(int size) throws Exception {
		int low = 16;
		int high = 512;
		while (high - low > 8) {
			int mid = (low + high) / 2;
			if (survives(mid, size)) {
				high = mid;
			}
			else {
				low = mid;
			}
		}
		return high;
	}

	static boolean survives(int heapMiB, int size) throws Exception {
		Path dir = work.resolve("heap-" + heapMiB + "-" + size);
		Target service;
		try {
			service = Target.statekeeper(dir, "-Xmx" + heapMiB + "m");
		}
		catch (IllegalStateException ex) {
			return false;
		}
		try {
			for (int i = 0; i < 3; i++) {
				byte[] body = state(size, i);
				if (CLIENT.send(service.put("big", body), HttpResponse.BodyHandlers.discarding()).statusCode() / 100 != 2) {
					return false;
				}
				HttpResponse<byte[]> got = CLIENT.send(service.get("big"), HttpResponse.BodyHandlers.ofByteArray());
				if (got.statusCode() != 200 || !Arrays.equals(got.body(), body)) {
					return false;
				}
			}
			return service.process.isAlive();
		}
		catch (IOException ex) {
			return false;
		}
		finally {
			service.stop();
			deleteTree(dir);
		}
	}

	static void writeMany(Target service, int count, int size) throws Exception {
		parallel(count, (i) -> {
			HttpResponse<Void> response = CLIENT.send(service.put("s" + i, state(size, i)),
					HttpResponse.BodyHandlers.discarding());
			if (response.statusCode() / 100 != 2) {
				throw new IllegalStateException("PUT s" + i + ": " + response.statusCode());
			}
		});
	}

	static void readMany(Target service, int count, int size) throws Exception {
		parallel(count, (i) -> {
			HttpResponse<byte[]> response = CLIENT.send(service.get("s" + i), HttpResponse.BodyHandlers.ofByteArray());
			if (response.statusCode() != 200 || !Arrays.equals(response.body(), state(size, i))) {
				throw new IllegalStateException("GET s" + i + ": " + response.statusCode());
			}
		});
	}

	interface Task {

		void run(int index) throws Exception;

	}

	static void parallel(int count, Task task) throws Exception {
		ExecutorService pool = Executors.newFixedThreadPool(4);
		try {
			List<Future<?>> futures = new ArrayList<>();
			for (int i = 0; i < count; i++) {
				int index = i;
				futures.add(pool.submit(() -> {
					task.run(index);
					return null;
				}));
			}
			for (Future<?> future : futures) {
				future.get();
			}
		}
		finally {
			pool.shutdown();
		}
	}

}
